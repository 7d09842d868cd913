// The safetensors format checked against its published specification (huggingface/safetensors, "Format"):
// an 8-byte little-endian header length N, N bytes of JSON header, then the tensors' bytes, which the header's
// data_offsets must cover exactly, in order, without gaps or overlaps.

/** Bits per element of each dtype the specification names. */
export const safetensorsDtypeBits: Record<string, number> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64, C64: 64, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

/** The reference implementation refuses headers larger than this (100 MB). */
export const maxSafetensorsHeaderBytes = 100_000_000;

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  offsets: [number, number];
  parameters: number;
}

export interface SafetensorsSummary {
  format: 'safetensors';
  headerBytes: number;
  tensors: SafetensorsTensor[];
  /** Tensors per dtype. */
  dtypes: Record<string, number>;
  parameters: number;
  metadata: Record<string, string>;
}

/** The file breaks the format; the message says where. */
export class MalformedWeightsError extends Error {}

const fail = (message: string): never => { throw new MalformedWeightsError(message); };

/** The header length from the first 8 bytes, checked against the file's size. */
export function safetensorsHeaderLength(prefix: Uint8Array, fileBytes: number): number {
  if (fileBytes < 8 || prefix.length < 8) fail(`the file is ${fileBytes} bytes, shorter than the 8-byte header length`);
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(maxSafetensorsHeaderBytes)) fail(`the header length ${length} is over the ${maxSafetensorsHeaderBytes}-byte limit`);
  if (Number(length) > fileBytes - 8) fail(`the header length ${length} runs past the end of the file (${fileBytes - 8} bytes after the length)`);
  if (length < 2n) fail(`the header length ${length} is too short for a JSON object`);
  return Number(length);
}

function nonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Check a header (the N bytes after the length) against the size of the data that follows it.
 * @example checkSafetensorsHeader(headerBytes, fileBytes - 8 - headerBytes.length)
 */
export function checkSafetensorsHeader(header: Uint8Array, dataBytes: number): SafetensorsSummary {
  let parsed: unknown;
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let json: string;
  try {
    json = text.decode(header);
  } catch {
    return fail('the header is not UTF-8');
  }
  if (!json.startsWith('{')) fail('the header does not start with "{"');
  try {
    // The specification allows trailing spaces as padding.
    parsed = JSON.parse(json.replace(/ +$/, ''));
  } catch (error) {
    return fail(`the header is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('the header is not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensor[] = [];
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('__metadata__ is not a map of strings');
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`__metadata__.${key} is not a string`);
        metadata[key] = value as string;
      }
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail(`tensor "${name}" is not an object`);
    const { dtype, shape, data_offsets: offsets, ...rest } = entry as Record<string, unknown>;
    if (Object.keys(rest).length > 0) fail(`tensor "${name}" has unknown fields: ${Object.keys(rest).join(', ')}`);
    if (typeof dtype !== 'string' || !(dtype in safetensorsDtypeBits)) fail(`tensor "${name}" has an unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(nonNegativeInteger)) fail(`tensor "${name}" has a shape that is not a list of whole numbers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(nonNegativeInteger) || offsets[0] > offsets[1]) {
      fail(`tensor "${name}" has data_offsets that are not [begin, end] with begin <= end`);
    }
    const elements = (shape as number[]).reduce((product, dimension) => product * dimension, 1);
    const bits = elements * safetensorsDtypeBits[dtype as string]!;
    const [begin, end] = offsets as [number, number];
    if (bits % 8 !== 0) fail(`tensor "${name}": ${elements} elements of ${dtype} are not a whole number of bytes`);
    if (bits / 8 !== end - begin) {
      fail(`tensor "${name}": shape [${(shape as number[]).join(', ')}] of ${dtype} is ${bits / 8} bytes but its data_offsets span ${end - begin}`);
    }
    tensors.push({ name, dtype: dtype as string, shape: shape as number[], offsets: [begin, end], parameters: elements });
  }
  // In offset order, each tensor starts where the one before it ended, and the last ends where the file does.
  const ordered = [...tensors].sort((left, right) => left.offsets[0] - right.offsets[0] || left.offsets[1] - right.offsets[1]);
  let position = 0;
  for (const tensor of ordered) {
    const [begin, end] = tensor.offsets;
    if (begin > position) fail(`a gap of ${begin - position} bytes before tensor "${tensor.name}" (bytes ${position}–${begin} belong to no tensor)`);
    if (begin < position) fail(`tensor "${tensor.name}" (bytes ${begin}–${end}) overlaps the tensor before it, which ends at ${position}`);
    position = end;
  }
  if (position < dataBytes) fail(`the tensors cover ${position} bytes but ${dataBytes} follow the header (${dataBytes - position} bytes belong to no tensor)`);
  if (position > dataBytes) fail(`the tensors need ${position} bytes but only ${dataBytes} follow the header`);
  const dtypes: Record<string, number> = {};
  for (const tensor of tensors) dtypes[tensor.dtype] = (dtypes[tensor.dtype] ?? 0) + 1;
  return {
    format: 'safetensors', headerBytes: header.length, tensors, dtypes, metadata,
    parameters: tensors.reduce((sum, tensor) => sum + tensor.parameters, 0),
  };
}

/**
 * A safetensors file from its tensors (tests, examples): header padded with spaces to 8 bytes, as the writers do.
 * @example buildSafetensors({ weight: { dtype: 'F32', shape: [2, 2], data: new Uint8Array(16) } })
 */
export function buildSafetensors(tensors: Record<string, { dtype: string; shape: number[]; data: Uint8Array }>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.data.length] };
    offset += tensor.data.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const file = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const tensor of Object.values(tensors)) {
    file.set(tensor.data, position);
    position += tensor.data.length;
  }
  return file;
}
