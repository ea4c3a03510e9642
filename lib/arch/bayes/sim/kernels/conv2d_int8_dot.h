// Fast CONV2D for int8 inputs on CPUs with AVX-512 VNNI: im2col into 48-column panels of unsigned bytes
// (x + 128), int32 dot products of four bytes (vpdpbusd), and a per-channel correction of 128 * sum(w). Every
// step is exact integer arithmetic, so the sums equal conv_accumulate_reference's; tests hold them identical.
#pragma once

#include <cstdint>
#include <vector>

#include "numerics/requant.h"
#include "arch/bayes/sim/kernels/conv2d.h"

namespace bpu {
class ThreadPool;
}

namespace bpu::kernels {

// Output channels per weight block of the dot kernel, and output positions per activation panel.
constexpr int64_t kDotRows = 8;
constexpr int64_t kDotCols = 48;

// One CONV2D's weights repacked for the dot kernel: per group, blocks of kDotRows output channels, each laid out
// [k_quads][kDotRows] words of four int8 weights (K padded with zeros to a multiple of 4; channels past the
// group's count are zero), and per output channel 128 * the sum of its weights.
struct PackedConvWeights {
  int64_t groups = 0, cout_g = 0, K = 0, k_quads = 0, row_blocks = 0;
  std::vector<int32_t> words;
  std::vector<int32_t> correction;
};

// True when the CPU has AVX-512 F, BW and VNNI (checked once at run time) and the environment variable
// BPU_NO_AVX512 is unset or "0" (set it to measure or test the portable Eigen path on such a CPU).
bool int8_dot_available();
// True when the geometry keeps every int32 sum exact: K <= 65536 (255 * 128 * 65536 < 2^31).
bool int8_dot_accepts(const ConvGeometry& g);

PackedConvWeights pack_conv_weights(const ConvGeometry& g, const int8_t* weight);

// acc[n, co, y, x] = sum of input * weight as int32 (NCHW). Requires int8_dot_available() and
// int8_dot_accepts(g). `panels` is scratch reused between calls; `pool` may be null (one thread).
void conv_accumulate_int8_dot(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w, int32_t* acc,
                              std::vector<uint8_t>& panels, ThreadPool* pool);

// out[n, c, p] = clamp(requant_c(acc[n, c, p])): apply_requant on int32 accumulators, eight lanes at a time
// when the CPU has AVX-512 and acc_bound * multiplier + |bias| stays inside int64 (the scalar function's own
// fast-path condition), else apply_requant itself. Bit-identical to requantize_per_channel either way.
template <typename OutT>
void requantize_int32_rows(const int32_t* acc, int64_t batch, int64_t channels, int64_t plane,
                           const RequantParams* params, int64_t acc_bound, int64_t lo, int64_t hi, OutT* out,
                           ThreadPool* pool);

}  // namespace bpu::kernels
