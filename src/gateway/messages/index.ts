// The Anthropic-compatible /v1/messages ingress: pure translation to and from the gateway's OpenAI shapes.
export { anthropicRequestToChat, type TranslatedMessagesRequest } from './request-to-chat.js';
export { chatResponseToAnthropic, toAnthropicStopReason, toAnthropicUsage, type AnthropicMessageJson } from './response-from-chat.js';
export { chatChunksToAnthropicEvents, formatSseEvent, type AnthropicSseEvent, type StreamTranslationOptions } from './stream-from-chat.js';
export { covenantErrorToAnthropic, anthropicErrorType, errorStatus, type AnthropicErrorBody } from './error-to-anthropic.js';
export { parseMessagesRequest, messagesRequestSchema, type MessagesRequest } from './messages-request-schema.js';
export { anthropicStreamFormat } from './stream-format.js';
