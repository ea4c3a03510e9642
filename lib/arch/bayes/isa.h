// The simulated "bayes" BPU instruction set: typed instructions and their binary encoding.
// Lowering encodes, the .bin stores the bytes, the simulator decodes; docs/isa.md specifies every field.
// Each record: u16 opcode, u16 word_count, u32 source_node (index into the segment's node-name table),
// then word_count little-endian 32-bit words.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace bpu::bayes {

enum class Opcode : uint16_t {
  Conv2d = 0x0001,  // int8/int16 x int8 convolution, per-channel requant or int32 accumulator output
  Add = 0x0002,     // element-wise add of two quantized tensors with different scales
  Reshape = 0x0003, // data movement: copy a buffer into another of the same dtype and element count
};

const char* opcode_name(Opcode op);

// Conv2d: out[n,co,y,x] = requant_co( sum over ci in group, ky, kx of in[n,ci,y*sh-pt+ky*dh, x*sw-pl+kx*dw]
//                                     * w[co, ci_local, ky, kx] ), padding reads 0.
struct Conv2d {
  uint32_t input = 0, output = 0;  // buffer ids
  uint32_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  uint32_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  uint32_t dilation_h = 1, dilation_w = 1, groups = 1;
  uint32_t weight_offset = 0;   // constant pool: int8 [Cout, Cin/groups, kh, kw]
  uint32_t requant_offset = 0;  // constant pool: Cout records {i32 multiplier, i32 shift, i64 bias}, 8-aligned
  int32_t clamp_lo = 0, clamp_hi = 0;
  static constexpr uint16_t kWords = 19;
};

// Add: out = clamp(rshift_rne(a * mult_a + b * mult_b, shift), lo, hi) over equal shapes.
struct Add {
  uint32_t input_a = 0, input_b = 0, output = 0;
  int64_t mult_a = 0, mult_b = 0;
  int32_t shift = 0;
  int32_t clamp_lo = 0, clamp_hi = 0;
  static constexpr uint16_t kWords = 10;
};

// Reshape: out = in, element by element in NCHW order (only the shape differs).
struct Reshape {
  uint32_t input = 0, output = 0;
  static constexpr uint16_t kWords = 2;
};

struct Instruction {
  Opcode opcode = Opcode::Conv2d;
  uint32_t source_node = 0;
  std::variant<Conv2d, Add, Reshape> body;
};

constexpr size_t kRequantRecordBytes = 16;

std::vector<uint8_t> encode_program(const std::vector<Instruction>& program);

// Structural decode; throws Error(Artifact) naming `context` on an unknown opcode, a wrong word count or a
// truncated record. Semantic checks against buffers live in the runtime's validator.
std::vector<Instruction> decode_program(const uint8_t* data, size_t size, const std::string& context);

// Maximum instructions per segment accepted by the decoder.
constexpr size_t kMaxInstructions = 1 << 20;

}  // namespace bpu::bayes
