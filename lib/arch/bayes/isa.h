// The simulated "bayes" BPU instruction set: typed instructions and their binary encoding.
// Lowering encodes, the .bin stores the bytes, the simulator decodes; docs/isa.md specifies every field.
// Each record: u16 opcode, u16 word_count, u32 source_node (index into the segment's node-name table),
// then word_count little-endian 32-bit words. 64-bit fields take two words, low word first.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace bpu::bayes {

enum class Opcode : uint16_t {
  Conv2d = 0x0001,   // int8/int16 x int8 convolution, per-channel requant or int32 accumulator output
  Add = 0x0002,      // element-wise add of two quantized tensors with different scales
  Reshape = 0x0003,  // data movement: copy a buffer into another of the same dtype and element count
  Rescale = 0x0004,  // element-wise scale change (requantization)
  Pool = 0x0005,     // max or average pooling over 2-D windows, with output rescale
  Concat = 0x0006,   // concatenation along an axis, each input rescaled to the output scale
  Resize = 0x0007,   // nearest or bilinear resize of H and W
  Lut = 0x0008,      // table lookup: 256 entries for int8 input, 65536 for int16
  Mul = 0x0009,      // element-wise product with broadcasting, one requantization
  Transpose = 0x000A,  // axis permutation
  Slice = 0x000B,    // strided box copy (Slice, Split)
  Pad = 0x000C,      // constant padding
  Deconv2d = 0x000D, // transposed convolution
  Softmax = 0x000E,  // softmax along an axis (double-precision emulation), only through run_on_bpu
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
};

// Add: out = clamp(rshift_rne(a * mult_a + b * mult_b, shift), lo, hi); a and b broadcast to the output
// shape (NumPy rules). Sub is Add with a negative mult_b.
struct Add {
  uint32_t input_a = 0, input_b = 0, output = 0;
  int64_t mult_a = 0, mult_b = 0;
  int32_t shift = 0;
  int32_t clamp_lo = 0, clamp_hi = 0;
};

// Reshape: out = in, element by element in NCHW order (only the shape differs).
struct Reshape {
  uint32_t input = 0, output = 0;
};

// Rescale: out = clamp(rshift_rne(in * mult, shift), lo, hi), same shape.
struct Rescale {
  uint32_t input = 0, output = 0;
  int64_t mult = 1;
  int32_t shift = 0;
  int32_t clamp_lo = 0, clamp_hi = 0;
};

// Pool: 2-D windows over NCHW. kind 0 (max): v = max of the window's in-bounds values; kind 1 (average):
// v = sum of in-bounds values, n = in-bounds count (or the full window when count_include_pad). Then
// out = clamp(requant(v, table[table_entries == 1 ? 0 : n - 1])) with 16-byte requant records.
// kind 2 (average, float32 emulation of the fake-quant reference): x = float(q) * in_scale, summed in window
// order in float32, divided by n in float32, quantized with PyTorch's rounding at out_scale (no table).
struct Pool {
  uint32_t input = 0, output = 0, kind = 0;
  uint32_t in_scale_bits = 0, out_scale_bits = 0;  // float32 bit patterns, kind 2 only
  uint32_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  uint32_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  uint32_t dilation_h = 1, dilation_w = 1, count_include_pad = 0;
  uint32_t table_offset = 0, table_entries = 1;
  int32_t clamp_lo = 0, clamp_hi = 0;
};

struct ConcatInput {
  uint32_t buffer = 0;
  int64_t mult = 1;
  int32_t shift = 0;
};

// Concat: inputs placed one after another along `axis`, each element rescaled as
// clamp(rshift_rne(q * mult, shift), dtype range of the output).
struct Concat {
  uint32_t output = 0, axis = 0;
  std::vector<ConcatInput> inputs;
};

// Resize of H and W (docs/isa.md gives the coordinate formulas). mode 0 nearest: v = in[src];
// mode 1 bilinear: v = sum of the four neighbours times 15-bit fixed-point weight products (2^-30 units);
// out = clamp(rshift_rne(v * mult, shift), lo, hi). mode 2 bilinear, float32 emulation of PyTorch's kernel:
// x = float(q) * in_scale, top = fma(x00, w0, x01 * w1), bottom likewise, v = fma(top, h0, bottom * h1),
// out = PyTorch-rounded quantization of v at out_scale, clamped.
struct Resize {
  uint32_t input = 0, output = 0, mode = 0, coordinate_mode = 0, nearest_mode = 0;
  uint32_t in_scale_bits = 0, out_scale_bits = 0;  // float32 bit patterns, mode 2 only
  int64_t mult = 1;
  int32_t shift = 0;
  int32_t clamp_lo = 0, clamp_hi = 0;
};

// Lut: out = table[in] with table_entries = 256 (int8 input, index in + 128) or 65536 (int16, in + 32768),
// entries of the output's dtype.
struct Lut {
  uint32_t input = 0, output = 0, table_offset = 0;
};

// Mul: out = clamp(requant(a * b, {multiplier, shift, 0}), lo, hi) with a and b broadcast to the output.
struct Mul {
  uint32_t input_a = 0, input_b = 0, output = 0;
  int32_t multiplier = 0, shift = 0;
  int32_t clamp_lo = 0, clamp_hi = 0;
};

// Transpose: out[i_0..i_r] = in[j] with j[perm[k]] = i_k (ONNX Transpose).
struct Transpose {
  uint32_t input = 0, output = 0;
  std::vector<uint32_t> perm;
};

// Slice: out[i] = in[start + i * step] per axis (steps may be negative); the output shape gives the extent.
struct Slice {
  uint32_t input = 0, output = 0;
  std::vector<int32_t> starts, steps;
};

// Pad: out[i] = in[i - begin] where inside, else `value` (an integer code of the output).
struct Pad {
  uint32_t input = 0, output = 0;
  int32_t value = 0;
  std::vector<uint32_t> begins;
};

// Deconv2d: out[n,co,oy,ox] = requant_co( sum over ci, ky, kx with oy = iy*sh - pt + ky*dh (likewise x) of
// in[n,ci,iy,ix] * w[ci, co_local, ky, kx] ); weights int8 [Cin, Cout/groups, kh, kw].
struct Deconv2d {
  uint32_t input = 0, output = 0;
  uint32_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
  uint32_t dilation_h = 1, dilation_w = 1, groups = 1;
  uint32_t weight_offset = 0, requant_offset = 0;
  int32_t clamp_lo = 0, clamp_hi = 0;
};

// Softmax along `axis`: x = q * in_scale in double, softmax in double, rounded to float32, quantized with
// PyTorch's rounding at out_scale.
struct Softmax {
  uint32_t input = 0, output = 0, axis = 0;
  uint32_t in_scale_bits = 0, out_scale_bits = 0;
};

using Body = std::variant<Conv2d, Add, Reshape, Rescale, Pool, Concat, Resize, Lut, Mul, Transpose, Slice, Pad,
                          Deconv2d, Softmax>;

struct Instruction {
  Opcode opcode = Opcode::Conv2d;
  uint32_t source_node = 0;
  Body body;
};

constexpr size_t kRequantRecordBytes = 16;
constexpr int kBilinearWeightBits = 15;
constexpr uint32_t kMaxConcatInputs = 1024;
constexpr uint32_t kMaxRankWords = 8;

Opcode opcode_of(const Body& body);

// The buffer ids an instruction reads and the ones it writes (memory planning, cost model, simulator trace).
void buffer_operands(const Body& body, std::vector<uint32_t>* inputs, std::vector<uint32_t>* outputs);

std::vector<uint8_t> encode_program(const std::vector<Instruction>& program);

// Structural decode; throws Error(Artifact) naming `context` on an unknown opcode, a wrong word count or a
// truncated record. Semantic checks against buffers live in the runtime's validator.
std::vector<Instruction> decode_program(const uint8_t* data, size_t size, const std::string& context);

// Largest on-chip SRAM window a segment's memory map may have (the planner caps bpu_sram_kib to it).
constexpr uint64_t kMaxSramBytes = uint64_t(64) << 20;

// Maximum instructions per segment accepted by the decoder.
constexpr size_t kMaxInstructions = 1 << 20;

}  // namespace bpu::bayes
