// The part of ONNX's published onnx.proto (proto2, package onnx) that a weights check reads, as a protobufjs JSON
// descriptor. Field numbers are the specification's; fields not listed are skipped by the decoder.

export const onnxDescriptor = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: { type: 'string', id: 2 },
            producer_version: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            model_version: { type: 'int64', id: 5 },
            doc_string: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { type: 'string', id: 1 },
            version: { type: 'int64', id: 2 },
          },
        },
        GraphProto: {
          fields: {
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            data_type: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            raw_data: { type: 'bytes', id: 9 },
            data_location: { type: 'int32', id: 14 },
          },
        },
      },
    },
  },
} as const;

/** TensorProto.DataType: the name and bits per element of each element type. */
export const onnxDataTypes: Record<number, { name: string; bits: number }> = {
  1: { name: 'FLOAT', bits: 32 }, 2: { name: 'UINT8', bits: 8 }, 3: { name: 'INT8', bits: 8 }, 4: { name: 'UINT16', bits: 16 },
  5: { name: 'INT16', bits: 16 }, 6: { name: 'INT32', bits: 32 }, 7: { name: 'INT64', bits: 64 }, 8: { name: 'STRING', bits: 0 },
  9: { name: 'BOOL', bits: 8 }, 10: { name: 'FLOAT16', bits: 16 }, 11: { name: 'DOUBLE', bits: 64 }, 12: { name: 'UINT32', bits: 32 },
  13: { name: 'UINT64', bits: 64 }, 14: { name: 'COMPLEX64', bits: 64 }, 15: { name: 'COMPLEX128', bits: 128 }, 16: { name: 'BFLOAT16', bits: 16 },
  17: { name: 'FLOAT8E4M3FN', bits: 8 }, 18: { name: 'FLOAT8E4M3FNUZ', bits: 8 }, 19: { name: 'FLOAT8E5M2', bits: 8 }, 20: { name: 'FLOAT8E5M2FNUZ', bits: 8 },
  21: { name: 'UINT4', bits: 4 }, 22: { name: 'INT4', bits: 4 }, 23: { name: 'FLOAT4E2M1', bits: 4 },
};
