// JSON Schema (as OpenAI tools and json_schema carry it) -> Gemini's OpenAPI 3.0 Schema subset (https://ai.google.dev/api/caching#Schema).
import type { GeminiSchema } from './gemini-api-schema.js';

/** Fields Gemini's Schema accepts as they are; anything else ($schema, additionalProperties, $ref, …) is rejected upstream, so it is dropped. */
const keptFields = new Set([
  'format', 'title', 'description', 'nullable', 'maxItems', 'minItems', 'minProperties', 'maxProperties',
  'minLength', 'maxLength', 'pattern', 'example', 'propertyOrdering', 'default', 'minimum', 'maximum',
]);

/**
 * Convert one schema node. Returns undefined for a schema that says nothing, and for an object with no
 * properties at the top (Gemini rejects an OBJECT parameters schema with empty properties; such a function takes no arguments).
 * @example convertJsonSchemaToGemini({type: ['string', 'null']}) // {type: 'string', nullable: true}
 */
export function convertJsonSchemaToGemini(schema: unknown, top = true): GeminiSchema | undefined {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const source = schema as Record<string, unknown>;
  const result: GeminiSchema = {};

  const types = Array.isArray(source.type) ? (source.type as unknown[]) : source.type === undefined ? [] : [source.type];
  const concrete = types.filter((type): type is string => typeof type === 'string' && type !== 'null');
  if (types.includes('null')) result.nullable = true;
  if (concrete.length === 1) result.type = concrete[0];
  else if (concrete.length > 1) result.anyOf = concrete.map((type) => ({ type }));

  for (const [key, value] of Object.entries(source)) {
    if (keptFields.has(key)) result[key] = value;
  }

  if ('const' in source && source.const !== undefined) {
    result.enum = [String(source.const)];
    result.type ??= 'string';
  } else if (Array.isArray(source.enum)) {
    // Gemini enums are strings (format: enum); other enums keep only their type.
    if (source.enum.every((item) => typeof item === 'string')) result.enum = source.enum;
  }

  if (source.properties && typeof source.properties === 'object') {
    const properties: Record<string, GeminiSchema> = {};
    for (const [name, property] of Object.entries(source.properties as Record<string, unknown>)) {
      properties[name] = convertJsonSchemaToGemini(property, false) ?? {};
    }
    if (Object.keys(properties).length > 0) {
      result.properties = properties;
      result.type ??= 'object';
      if (Array.isArray(source.required)) {
        const required = (source.required as unknown[]).filter((name): name is string => typeof name === 'string' && name in properties);
        if (required.length > 0) result.required = required;
      }
    }
  }

  if (source.items !== undefined) {
    const items = convertJsonSchemaToGemini(source.items, false);
    if (items) result.items = items;
  }

  const alternatives = (source.anyOf ?? source.oneOf) as unknown[] | undefined;
  if (Array.isArray(alternatives)) {
    const nonNull = alternatives.filter((alternative) => !(alternative && typeof alternative === 'object' && (alternative as { type?: unknown }).type === 'null'));
    if (nonNull.length < alternatives.length) result.nullable = true;
    const converted = nonNull.map((alternative) => convertJsonSchemaToGemini(alternative, false) ?? {});
    if (converted.length === 1) Object.assign(result, converted[0]);
    else if (converted.length > 1) result.anyOf = converted;
  }

  if (top && (result.type === 'object' || result.type === undefined) && result.properties === undefined && result.anyOf === undefined) return undefined;
  if (Object.keys(result).length === 0) return undefined;
  return result;
}
