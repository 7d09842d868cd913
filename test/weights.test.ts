// Weight artifacts: safetensors checked against its specification (every malformation), ONNX decoded with protobufjs,
// the streamed SHA-256, business-day due dates, and `covenant weights verify`'s exit codes.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBusinessDays, businessDaysBetween, isBusinessDay } from '../src/sourcing/business-days.js';
import { checkOnnx, onnxModelType } from '../src/sourcing/onnx.js';
import { buildSafetensors, checkSafetensorsHeader, MalformedWeightsError, safetensorsHeaderLength } from '../src/sourcing/safetensors.js';
import { verifyWeightsFile } from '../src/sourcing/weights-file.js';
import { runCovenant } from './helpers/process.js';

let directory: string;
beforeAll(() => { directory = mkdtempSync(join(tmpdir(), 'covenant-weights-')); });
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A safetensors file with a hand-written header and `dataBytes` bytes of data. */
function rawSafetensors(header: unknown, dataBytes: number, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const file = new Uint8Array(8 + json.length + dataBytes);
  new DataView(file.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  file.set(json, 8);
  return file;
}

function check(file: Uint8Array) {
  const length = safetensorsHeaderLength(file.subarray(0, 8), file.length);
  return checkSafetensorsHeader(file.subarray(8, 8 + length), file.length - 8 - length);
}

const malformed = (file: Uint8Array) => {
  try {
    check(file);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedWeightsError);
    return (error as Error).message;
  }
  throw new Error('expected a malformed file');
};

const model = () => buildSafetensors({
  'embed.weight': { dtype: 'F32', shape: [4, 3], data: new Uint8Array(48).fill(1) },
  'head.bias': { dtype: 'BF16', shape: [3], data: new Uint8Array(6).fill(2) },
  'mask': { dtype: 'BOOL', shape: [], data: new Uint8Array([1]) },
}, { format: 'pt', base_model: 'acme-7b' });

describe('safetensors', () => {
  it('reads a valid file: tensors, dtypes, parameter count, metadata', () => {
    const summary = check(model());
    expect(summary.tensors.map((tensor) => [tensor.name, tensor.dtype, tensor.shape, tensor.parameters])).toEqual([
      ['embed.weight', 'F32', [4, 3], 12], ['head.bias', 'BF16', [3], 3], ['mask', 'BOOL', [], 1],
    ]);
    expect(summary.dtypes).toEqual({ F32: 1, BF16: 1, BOOL: 1 });
    expect(summary.parameters).toBe(16);
    expect(summary.metadata).toEqual({ format: 'pt', base_model: 'acme-7b' });
    // The header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
    expect((8 + summary.headerBytes) % 8).toBe(0);
  });

  it('refuses a header length past the end of the file or over the limit', () => {
    expect(malformed(rawSafetensors({}, 0, 1000n))).toBe('the header length 1000 runs past the end of the file (2 bytes after the length)');
    expect(malformed(rawSafetensors({}, 0, 2n ** 40n))).toMatch(/over the 100000000-byte limit/);
    expect(malformed(new Uint8Array(5))).toMatch(/shorter than the 8-byte header length/);
  });

  it('refuses a header that is not a JSON object', () => {
    expect(malformed(rawSafetensors('{"a": ', 0))).toMatch(/^the header is not JSON/);
    expect(malformed(rawSafetensors('[1, 2]', 0))).toBe('the header does not start with "{"');
  });

  it('refuses overlapping tensors', () => {
    const header = { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } };
    expect(malformed(rawSafetensors(header, 6))).toBe('tensor "b" (bytes 2–6) overlaps the tensor before it, which ends at 4');
  });

  it('refuses a gap between tensors, and bytes no tensor covers at the end', () => {
    const gap = { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [2], data_offsets: [6, 8] } };
    expect(malformed(rawSafetensors(gap, 8))).toBe('a gap of 2 bytes before tensor "b" (bytes 4–6 belong to no tensor)');
    const tail = { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } };
    expect(malformed(rawSafetensors(tail, 10))).toBe('the tensors cover 4 bytes but 10 follow the header (6 bytes belong to no tensor)');
    expect(malformed(rawSafetensors(tail, 3))).toBe('the tensors need 4 bytes but only 3 follow the header');
  });

  it('refuses a shape that does not match the byte size, and unknown dtypes', () => {
    const mismatch = { w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } };
    expect(malformed(rawSafetensors(mismatch, 20))).toBe('tensor "w": shape [2, 3] of F32 is 24 bytes but its data_offsets span 20');
    const dtype = { w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } };
    expect(malformed(rawSafetensors(dtype, 16))).toBe('tensor "w" has an unknown dtype "F128"');
    const metadata = { __metadata__: { epochs: 3 } };
    expect(malformed(rawSafetensors(metadata, 0))).toBe('__metadata__.epochs is not a string');
    const offsets = { w: { dtype: 'U8', shape: [1], data_offsets: [1, 0] } };
    expect(malformed(rawSafetensors(offsets, 1))).toMatch(/data_offsets that are not \[begin, end\]/);
  });
});

function onnxModel(fields: Record<string, unknown>): Uint8Array {
  return onnxModelType.encode(onnxModelType.fromObject(fields)).finish();
}

const validOnnx = () => onnxModel({
  ir_version: 9, producer_name: 'covenant-test', producer_version: '1.0',
  opset_import: [{ domain: '', version: 21 }, { domain: 'com.microsoft', version: 1 }],
  graph: {
    name: 'linear',
    initializer: [
      { name: 'W', dims: [4, 3], data_type: 1, raw_data: new Uint8Array(48) },
      { name: 'b', dims: [3], data_type: 10, raw_data: new Uint8Array(6) },
    ],
  },
});

describe('ONNX', () => {
  it('reads ir_version, producer, opset imports, initializers and their parameter count', () => {
    const summary = checkOnnx(validOnnx());
    expect(summary).toEqual({
      format: 'onnx', irVersion: 9, producer: { name: 'covenant-test', version: '1.0' },
      opsetImports: [{ domain: '', version: 21 }, { domain: 'com.microsoft', version: 1 }],
      initializers: [{ name: 'W', dataType: 'FLOAT', dims: [4, 3], parameters: 12 }, { name: 'b', dataType: 'FLOAT16', dims: [3], parameters: 3 }],
      parameters: 15,
    });
  });

  it('refuses bytes that are not a ModelProto, and a model without ir_version, opsets or graph', () => {
    expect(() => checkOnnx(new Uint8Array([0x08, 0x09, 0x3a, 0x10, 0x01]))).toThrow(/not an ONNX ModelProto/);
    expect(() => checkOnnx(new Uint8Array())).toThrow('no ir_version');
    expect(() => checkOnnx(onnxModel({ ir_version: 9, graph: { name: 'g' } }))).toThrow('no opset_import');
    expect(() => checkOnnx(onnxModel({ ir_version: 9, opset_import: [{ version: 21 }] }))).toThrow('no graph');
    const short = onnxModel({ ir_version: 9, opset_import: [{ version: 21 }], graph: { initializer: [{ name: 'W', dims: [4, 3], data_type: 1, raw_data: new Uint8Array(40) }] } });
    expect(() => checkOnnx(short)).toThrow('initializer "W": dims [4, 3] of FLOAT need 48 bytes but raw_data has 40');
  });
});

describe('weights files', () => {
  it('hashes the whole file, streamed', async () => {
    const bytes = model();
    const path = join(directory, 'adapter.safetensors');
    writeFileSync(path, bytes);
    const report = await verifyWeightsFile(path);
    expect(report.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(report.bytes).toBe(bytes.length);
    // A model file with neither extension is recognised by its first bytes.
    const bare = join(directory, 'model.bin');
    writeFileSync(bare, validOnnx());
    expect((await verifyWeightsFile(bare)).summary.format).toBe('onnx');
  });

  it('covenant weights verify prints what it found, exits 1 with the reason when malformed, 2 when unreadable', async () => {
    const good = join(directory, 'good.safetensors');
    writeFileSync(good, model());
    const onnx = join(directory, 'linear.onnx');
    writeFileSync(onnx, validOnnx());
    const bad = join(directory, 'bad.safetensors');
    writeFileSync(bad, rawSafetensors({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } }, 6));
    const [text, json, onnxText, broken, missing] = await Promise.all([
      runCovenant(['weights', 'verify', good]), runCovenant(['weights', 'verify', good, '--json']), runCovenant(['weights', 'verify', onnx]),
      runCovenant(['weights', 'verify', bad]), runCovenant(['weights', 'verify', join(directory, 'none.onnx')]),
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('valid safetensors');
    expect(text.stdout).toMatch(/tensors +3\n/);
    expect(text.stdout).toContain('F32 (1), BF16 (1), BOOL (1)');
    expect(text.stdout).toMatch(/parameters +16\n/);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, sha256: createHash('sha256').update(model()).digest('hex'), summary: { parameters: 16 } });
    expect(onnxText.code).toBe(0);
    expect(onnxText.stdout).toMatch(/ir_version +9\n/);
    expect(onnxText.stdout).toContain('ai.onnx 21, com.microsoft 1');
    expect(onnxText.stdout).toContain('initializers 2, parameters 15');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('is malformed: tensor "b" (bytes 2–6) overlaps the tensor before it');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
  });
});

describe('business days', () => {
  it('skips weekends and holidays', () => {
    // Friday 1 January 2027 + 10 business days: Friday 15 January.
    expect(addBusinessDays('2027-01-01', 10)).toBe('2027-01-15');
    // Martin Luther King Jr. Day (Monday 18 January 2027) listed as a holiday moves a due date that crosses it.
    expect(addBusinessDays('2027-01-14', 2)).toBe('2027-01-18');
    expect(addBusinessDays('2027-01-14', 2, new Set(['2027-01-18']))).toBe('2027-01-19');
    // A request on a Saturday counts from Monday.
    expect(addBusinessDays('2027-01-02', 1)).toBe('2027-01-04');
    expect(addBusinessDays('2027-01-04', 0)).toBe('2027-01-04');
    expect(isBusinessDay('2027-01-02')).toBe(false);
    expect(businessDaysBetween('2027-01-01', '2027-01-15')).toBe(10);
    expect(businessDaysBetween('2027-01-15', '2027-01-01')).toBe(-10);
    expect(() => addBusinessDays('2027-02-30', 1)).toThrow(/not a date/);
  });

  it('over a whole year, N business days after any day are N weekdays that are not holidays', () => {
    const holidays = new Set(['2027-12-24', '2027-12-27', '2027-05-31']);
    for (let day = 0; day < 365; day += 1) {
      const start = new Date(Date.UTC(2027, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
      for (const count of [1, 5, 10, 23]) {
        const due = addBusinessDays(start, count, holidays);
        expect(isBusinessDay(due, holidays)).toBe(true);
        expect(businessDaysBetween(start, due, holidays)).toBe(count);
      }
    }
  });
});
