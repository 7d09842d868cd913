// Verifies a weights file on disk: safetensors or ONNX by extension (or by its first bytes), and its SHA-256, streamed.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { OnnxSummary } from './onnx.js';
import { checkSafetensorsHeader, MalformedWeightsError, safetensorsHeaderLength, type SafetensorsSummary } from './safetensors.js';

export interface WeightsReport {
  path: string;
  bytes: number;
  sha256: string;
  summary: SafetensorsSummary | OnnxSummary;
}

/** The file cannot be read at all (missing, a directory): the CLI's exit 2; a malformed file is MalformedWeightsError (exit 1). */
export class UnreadableWeightsError extends Error {}

/** SHA-256 of a file of any size, read in chunks. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readPrefix(path: string, from: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, from);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function checkSafetensorsFile(path: string, size: number): Promise<SafetensorsSummary> {
  const length = safetensorsHeaderLength(await readPrefix(path, 0, 8), size);
  return checkSafetensorsHeader(await readPrefix(path, 8, length), size - 8 - length);
}

/** safetensors or onnx: the extension says, else the first bytes (a safetensors header is JSON starting with "{"). */
async function formatOf(path: string): Promise<'safetensors' | 'onnx'> {
  const extension = extname(path).toLowerCase();
  if (extension === '.safetensors') return 'safetensors';
  if (extension === '.onnx') return 'onnx';
  const prefix = await readPrefix(path, 0, 9);
  return prefix.length === 9 && prefix[8] === 0x7b ? 'safetensors' : 'onnx';
}

/**
 * Check the file's structure and hash it; throws MalformedWeightsError with the reason when it breaks its format.
 * @example const report = await verifyWeightsFile('export/model.safetensors');
 */
export async function verifyWeightsFile(path: string): Promise<WeightsReport> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UnreadableWeightsError(`${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof UnreadableWeightsError) throw error;
    throw new UnreadableWeightsError(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const format = await formatOf(path);
  // ONNX files hold the whole model in one protobuf message (at most 2 GB; larger ones keep weights in external files).
  if (format === 'onnx' && size > 2 ** 31) throw new MalformedWeightsError(`${size} bytes is over protobuf's 2 GB limit for one ONNX model file`);
  const summary = format === 'safetensors' ? await checkSafetensorsFile(path, size) : (await import('./onnx.js')).checkOnnx(await readFile(path));
  return { path, bytes: size, sha256: await sha256File(path), summary };
}

export { MalformedWeightsError };
