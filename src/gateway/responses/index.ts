// The OpenAI Responses API ingress (POST /v1/responses): pure translation to and from the gateway's chat shapes.
export { responsesRequestToChat, type TranslatedResponsesRequest } from './request-to-chat.js';
export { chatResponseToResponses, toResponsesUsage, type ResponseJson, type OutputItem } from './response-from-chat.js';
export { ChatToResponsesEvents, formatResponsesEvent, type ResponsesSseEvent } from './stream-from-chat.js';
export { parseResponsesRequest, responsesRequestSchema, type ResponsesRequest } from './responses-request-schema.js';
export { responsesStreamFormat, nativeResponsesStreamFormat } from './stream-format.js';
