// An ONNX model checked at the top level with protobufjs over onnx.proto's ModelProto: ir_version, opset imports, graph initializers.
import protobuf from 'protobufjs';
import { onnxDataTypes, onnxDescriptor } from './onnx-schema.js';
import { MalformedWeightsError } from './safetensors.js';

export interface OnnxInitializer {
  name: string;
  dataType: string;
  dims: number[];
  parameters: number;
}

export interface OnnxSummary {
  format: 'onnx';
  irVersion: number;
  producer: { name: string; version: string };
  opsetImports: { domain: string; version: number }[];
  initializers: OnnxInitializer[];
  parameters: number;
}

const root = protobuf.Root.fromJSON(onnxDescriptor as unknown as protobuf.INamespace);
export const onnxModelType = root.lookupType('onnx.ModelProto');

/** protobufjs gives int64 as a number or a Long; both become a number (safe up to 2^53). */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value && typeof (value as { toNumber?: unknown }).toNumber === 'function') return (value as { toNumber(): number }).toNumber();
  return Number(value ?? 0);
}

interface DecodedTensor { name?: string; dims?: unknown[]; data_type?: number; raw_data?: Uint8Array; data_location?: number }
interface DecodedModel {
  ir_version?: unknown; producer_name?: string; producer_version?: string;
  opset_import?: { domain?: string; version?: unknown }[];
  graph?: { initializer?: DecodedTensor[] };
}

/**
 * Decode and check a model file's bytes; throws MalformedWeightsError with the reason.
 * @example checkOnnx(await readFile('model.onnx')).opsetImports
 */
export function checkOnnx(bytes: Uint8Array): OnnxSummary {
  let decoded: DecodedModel;
  try {
    decoded = onnxModelType.toObject(onnxModelType.decode(bytes), { defaults: false, arrays: true }) as DecodedModel;
  } catch (error) {
    throw new MalformedWeightsError(`not an ONNX ModelProto: ${(error as Error).message}`);
  }
  const irVersion = toNumber(decoded.ir_version);
  // onnx.proto: "ir_version ... This field MUST be present"; "All ModelProtos MUST have at least one entry" in opset_import.
  if (!(irVersion >= 1)) throw new MalformedWeightsError('no ir_version: a ModelProto must say which IR version it targets');
  const opsetImports = (decoded.opset_import ?? []).map((entry) => ({ domain: entry.domain ?? '', version: toNumber(entry.version) }));
  if (irVersion >= 3 && opsetImports.length === 0) throw new MalformedWeightsError('no opset_import: a model must import at least one operator set');
  if (!decoded.graph) throw new MalformedWeightsError('no graph');
  const initializers: OnnxInitializer[] = [];
  for (const tensor of decoded.graph.initializer ?? []) {
    const dims = (tensor.dims ?? []).map(toNumber);
    if (dims.some((dimension) => !Number.isSafeInteger(dimension) || dimension < 0)) throw new MalformedWeightsError(`initializer "${tensor.name}" has a negative dimension`);
    const type = onnxDataTypes[tensor.data_type ?? 0];
    if (!type) throw new MalformedWeightsError(`initializer "${tensor.name}" has an unknown data_type ${tensor.data_type ?? 'none'}`);
    const parameters = dims.reduce((product, dimension) => product * dimension, 1);
    if (tensor.raw_data && tensor.raw_data.length > 0 && type.bits > 0 && tensor.raw_data.length !== Math.ceil((parameters * type.bits) / 8)) {
      throw new MalformedWeightsError(`initializer "${tensor.name}": dims [${dims.join(', ')}] of ${type.name} need ${Math.ceil((parameters * type.bits) / 8)} bytes but raw_data has ${tensor.raw_data.length}`);
    }
    initializers.push({ name: tensor.name ?? '', dataType: type.name, dims, parameters });
  }
  return {
    format: 'onnx', irVersion, producer: { name: decoded.producer_name ?? '', version: decoded.producer_version ?? '' }, opsetImports, initializers,
    parameters: initializers.reduce((sum, initializer) => sum + initializer.parameters, 0),
  };
}
