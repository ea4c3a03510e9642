// The bayes ISA declared once: every opcode's code, mnemonic and fields (kind, name, in-memory default) in
// encoding order. Everything else is generated from this file:
//   isa.h         the Opcode enum, one struct per opcode (members = fields), the Body variant
//   isa.cpp       opcode_name, encode_program / decode_program, buffer_operands (from the BufIn/BufOut kinds),
//                 format_fields (disassembly: every field's name and value), isa_opcode_table_markdown
//                 (the opcode table in docs/isa.md; a unit test holds the committed docs equal to it)
// Per-opcode behaviour is one overload per instruction struct, dispatched with std::visit over Body, so an
// opcode added here without its validator check (arch/bayes/sim/validate.cpp), simulator kernel (arch/bayes/sim/simulator.cpp)
// and cost entry (arch/bayes/perf_model.cpp) does not compile.
//
// Field kinds:
//   BufIn, BufOut  u32 buffer id the instruction reads / writes
//   U32, I32       one word; I64: two words, low word first
//   ListU32, ListI32  a list of words; an instruction's lists share one length word r, written just before its
//                 first list (r <= kMaxRankWords)
//   Records        a list of ConcatInput records after a count word n (1 <= n <= kMaxConcatInputs)
// Adding an opcode: one BPU_ISA_OPCODE line below, one field list, then the three overloads named above and its
// semantics in docs/isa.md. Changing a field's order or kind changes the .bin encoding (bump kBinFormatVersion).
#pragma once

// One element of CONCAT's input list: the buffer and its rescale to the output scale.
#define BPU_ISA_FIELDS_CONCAT_INPUT(F) F(BufIn, buffer, 0) F(I64, mult, 1) F(I32, shift, 0)

// Conv2d: out[n,co,y,x] = requant_co( sum over ci in group, ky, kx of in[n,ci,y*sh-pt+ky*dh, x*sw-pl+kx*dw]
// * w[co, ci_local, ky, kx] ), padding reads 0. weight_offset: constant pool int8 [Cout, Cin/groups, kh, kw];
// requant_offset: Cout records {i32 multiplier, i32 shift, i64 bias}, 8-aligned.
#define BPU_ISA_FIELDS_CONV2D(F)                                                                                 \
  F(BufIn, input, 0) F(BufOut, output, 0) F(U32, kernel_h, 1) F(U32, kernel_w, 1) F(U32, stride_h, 1)         \
  F(U32, stride_w, 1) F(U32, pad_top, 0) F(U32, pad_left, 0) F(U32, pad_bottom, 0) F(U32, pad_right, 0)      \
  F(U32, dilation_h, 1) F(U32, dilation_w, 1) F(U32, groups, 1) F(U32, weight_offset, 0)                     \
  F(U32, requant_offset, 0) F(I32, clamp_lo, 0) F(I32, clamp_hi, 0)

// Add: out = clamp(rshift_rne(a * mult_a + b * mult_b, shift), lo, hi); a and b broadcast to the output shape
// (NumPy rules). Sub is Add with a negative mult_b.
#define BPU_ISA_FIELDS_ADD(F)                                                                                    \
  F(BufIn, input_a, 0) F(BufIn, input_b, 0) F(BufOut, output, 0) F(I64, mult_a, 0) F(I64, mult_b, 0)          \
  F(I32, shift, 0) F(I32, clamp_lo, 0) F(I32, clamp_hi, 0)

// Reshape: out = in, element by element in NCHW order (only the shape differs).
#define BPU_ISA_FIELDS_RESHAPE(F) F(BufIn, input, 0) F(BufOut, output, 0)

// Rescale: out = clamp(rshift_rne(in * mult, shift), lo, hi), same shape.
#define BPU_ISA_FIELDS_RESCALE(F)                                                                                \
  F(BufIn, input, 0) F(BufOut, output, 0) F(I64, mult, 1) F(I32, shift, 0) F(I32, clamp_lo, 0) F(I32, clamp_hi, 0)

// Pool: 2-D windows over NCHW. kind 0 (max): v = max of the window's in-bounds values; kind 1 (average):
// v = sum of in-bounds values, n = in-bounds count (or the full window when count_include_pad). Then
// out = clamp(requant(v, table[table_entries == 1 ? 0 : n - 1])) with 16-byte requant records.
// kind 2 (average, exact): v = the integer window sum, out = clamp(rint(double(v) * in_scale / n *
// float32(1 / out_scale))) in float64, ties to even (no table; docs/numerics.md §3c).
// *_scale_bits are float32 bit patterns (kind 2 only).
#define BPU_ISA_FIELDS_POOL(F)                                                                                   \
  F(BufIn, input, 0) F(BufOut, output, 0) F(U32, kind, 0) F(U32, in_scale_bits, 0) F(U32, out_scale_bits, 0)  \
  F(U32, kernel_h, 1) F(U32, kernel_w, 1) F(U32, stride_h, 1) F(U32, stride_w, 1) F(U32, pad_top, 0)          \
  F(U32, pad_left, 0) F(U32, pad_bottom, 0) F(U32, pad_right, 0) F(U32, dilation_h, 1) F(U32, dilation_w, 1)  \
  F(U32, count_include_pad, 0) F(U32, table_offset, 0) F(U32, table_entries, 1) F(I32, clamp_lo, 0)           \
  F(I32, clamp_hi, 0)

// Concat: inputs placed one after another along `axis`, each element rescaled as
// clamp(rshift_rne(q * mult, shift), dtype range of the output).
#define BPU_ISA_FIELDS_CONCAT(F) F(BufOut, output, 0) F(U32, axis, 0) F(Records, inputs, {})

// Resize of H and W (docs/isa.md gives the coordinate formulas). mode 0 nearest: v = in[src];
// mode 1 bilinear: v = sum of the four neighbours times 15-bit fixed-point weight products (2^-30 units);
// out = clamp(rshift_rne(v * mult, shift), lo, hi). mode 2 bilinear, exact: in float64, x = q * in_scale,
// weights from the double source coordinate, top = fma(x00, w0, x01 * w1), bottom likewise,
// v = fma(top, h0, bottom * h1), out = clamp(rint(v * float32(1 / out_scale))). *_scale_bits: float32 bits, mode 2 only.
#define BPU_ISA_FIELDS_RESIZE(F)                                                                                 \
  F(BufIn, input, 0) F(BufOut, output, 0) F(U32, mode, 0) F(U32, coordinate_mode, 0) F(U32, nearest_mode, 0)  \
  F(U32, in_scale_bits, 0) F(U32, out_scale_bits, 0) F(I64, mult, 1) F(I32, shift, 0) F(I32, clamp_lo, 0)     \
  F(I32, clamp_hi, 0)

// Lut: out = table[in] with table_entries = 256 (int8 input, index in + 128) or 65536 (int16, in + 32768),
// entries of the output's dtype.
#define BPU_ISA_FIELDS_LUT(F) F(BufIn, input, 0) F(BufOut, output, 0) F(U32, table_offset, 0)

// Mul: out = clamp(requant(a * b, {multiplier, shift, 0}), lo, hi) with a and b broadcast to the output.
#define BPU_ISA_FIELDS_MUL(F)                                                                                    \
  F(BufIn, input_a, 0) F(BufIn, input_b, 0) F(BufOut, output, 0) F(I32, multiplier, 0) F(I32, shift, 0)       \
  F(I32, clamp_lo, 0) F(I32, clamp_hi, 0)

// Transpose: out[i_0..i_r] = in[j] with j[perm[k]] = i_k (ONNX Transpose).
#define BPU_ISA_FIELDS_TRANSPOSE(F) F(BufIn, input, 0) F(BufOut, output, 0) F(ListU32, perm, {})

// Slice: out[i] = in[start + i * step] per axis (steps may be negative); the output shape gives the extent.
#define BPU_ISA_FIELDS_SLICE(F) F(BufIn, input, 0) F(BufOut, output, 0) F(ListI32, starts, {}) F(ListI32, steps, {})

// Pad: out[i] = in[i - begin] where inside, else `value` (an integer code of the output).
#define BPU_ISA_FIELDS_PAD(F) F(BufIn, input, 0) F(BufOut, output, 0) F(I32, value, 0) F(ListU32, begins, {})

// Deconv2d: out[n,co,oy,ox] = requant_co( sum over ci, ky, kx with oy = iy*sh - pt + ky*dh (likewise x) of
// in[n,ci,iy,ix] * w[ci, co_local, ky, kx] ); weights int8 [Cin, Cout/groups, kh, kw].
#define BPU_ISA_FIELDS_DECONV2D(F)                                                                               \
  F(BufIn, input, 0) F(BufOut, output, 0) F(U32, kernel_h, 1) F(U32, kernel_w, 1) F(U32, stride_h, 1)         \
  F(U32, stride_w, 1) F(U32, pad_top, 0) F(U32, pad_left, 0) F(U32, dilation_h, 1) F(U32, dilation_w, 1)      \
  F(U32, groups, 1) F(U32, weight_offset, 0) F(U32, requant_offset, 0) F(I32, clamp_lo, 0) F(I32, clamp_hi, 0)

// Softmax along `axis`: x = q * in_scale in double, softmax in double (max subtracted, exp, sum, divide),
// out = clamp(rint(y * float32(1 / out_scale))) in double.
#define BPU_ISA_FIELDS_SOFTMAX(F)                                                                                \
  F(BufIn, input, 0) F(BufOut, output, 0) F(U32, axis, 0) F(U32, in_scale_bits, 0) F(U32, out_scale_bits, 0)

// Preprocess, the image-input stage (docs/numerics.md §9): for every pixel (n, y, x) the raw uint8 samples s_k
// (format 0: interleaved [N,H,W,C]; 1: planar [N,C,H,W]; 2: nv12 [N,H*3/2,W], s_0 = Y, s_1 = U, s_2 = V of the
// pixel's 2x2 block) give out[c] = clamp(rshift_rne(sum_k m[c][k] * s_k + bias[c], shift), lo, hi), written NCHW
// (NHWC when out_channels_last). coeff_offset: one 24-byte record per output channel {i32 m0, m1, m2, i32 0, i64 bias},
// 8-aligned; k runs over the input's samples (1 for a one-channel input, else 3).
#define BPU_ISA_FIELDS_PREPROCESS(F)                                                                             \
  F(BufIn, input, 0) F(BufOut, output, 0) F(U32, format, 0) F(U32, out_channels_last, 0) F(U32, coeff_offset, 0) \
  F(I32, shift, 0) F(I32, clamp_lo, 0) F(I32, clamp_hi, 0)

// The opcode table: OP(struct name, u16 code, mnemonic, field list).
// A quantized constant operand (a ViT's class token or position embedding) written into its buffer from the
// constant pool: out = the buffer's size in bytes at data_offset.
#define BPU_ISA_FIELDS_CONST(F) F(BufOut, output, 0) F(U32, data_offset, 0)

// Matmul of two quantized activations (attention's Q·K^T, P·V): NumPy matmul on [..., M, K] x [..., K, N] with the
// batch axes broadcast to the output's; acc = sum_k a[.., m, k] * b[.., k, n] exact in int64, then
// out = clamp(requant(acc, {multiplier, shift, 0}), lo, hi) as MUL (M = s_a * s_b * float32(1 / s_out)).
#define BPU_ISA_FIELDS_MATMUL(F)                                                                                 \
  F(BufIn, input_a, 0) F(BufIn, input_b, 0) F(BufOut, output, 0) F(I32, multiplier, 0) F(I32, shift, 0)       \
  F(I32, clamp_lo, 0) F(I32, clamp_hi, 0)

#define BPU_ISA_OPCODES(OP)                                  \
  OP(Conv2d, 0x0001, "CONV2D", BPU_ISA_FIELDS_CONV2D)       \
  OP(Add, 0x0002, "ADD", BPU_ISA_FIELDS_ADD)                \
  OP(Reshape, 0x0003, "RESHAPE", BPU_ISA_FIELDS_RESHAPE)    \
  OP(Rescale, 0x0004, "RESCALE", BPU_ISA_FIELDS_RESCALE)    \
  OP(Pool, 0x0005, "POOL", BPU_ISA_FIELDS_POOL)             \
  OP(Concat, 0x0006, "CONCAT", BPU_ISA_FIELDS_CONCAT)       \
  OP(Resize, 0x0007, "RESIZE", BPU_ISA_FIELDS_RESIZE)       \
  OP(Lut, 0x0008, "LUT", BPU_ISA_FIELDS_LUT)                \
  OP(Mul, 0x0009, "MUL", BPU_ISA_FIELDS_MUL)                \
  OP(Transpose, 0x000A, "TRANSPOSE", BPU_ISA_FIELDS_TRANSPOSE) \
  OP(Slice, 0x000B, "SLICE", BPU_ISA_FIELDS_SLICE)          \
  OP(Pad, 0x000C, "PAD", BPU_ISA_FIELDS_PAD)                \
  OP(Deconv2d, 0x000D, "DECONV2D", BPU_ISA_FIELDS_DECONV2D) \
  OP(Softmax, 0x000E, "SOFTMAX", BPU_ISA_FIELDS_SOFTMAX)    \
  OP(Preprocess, 0x000F, "PREPROCESS", BPU_ISA_FIELDS_PREPROCESS) \
  OP(Const, 0x0010, "CONST", BPU_ISA_FIELDS_CONST)          \
  OP(Matmul, 0x0011, "MATMUL", BPU_ISA_FIELDS_MATMUL)
