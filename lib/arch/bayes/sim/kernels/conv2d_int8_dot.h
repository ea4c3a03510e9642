// Fast CONV2D for int8 inputs, two x86 kernels chosen at run time. AVX-512 VNNI: im2col into 48-column panels of
// unsigned bytes (x + 128), int32 dot products of four bytes (vpdpbusd), and a per-channel correction of
// 128 * sum(w). AVX2 (where VNNI is missing): im2col into 24-column panels of int16 pairs, int32 dot products of
// two (vpmaddwd; vpmaddubsw's int16 saturation would not be exact). Every step is exact integer arithmetic, so
// the sums equal conv_accumulate_reference's; tests hold both identical.
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
constexpr int64_t kPairRows = 4;   // the AVX2 kernel's
constexpr int64_t kPairCols = 24;

// Vnni512Lanes: the AVX-512 VNNI kernel for small output planes and small groups (lane_kernel_fits;
// conv2d_int8_lanes.cpp), whose register lanes are 16 output channels instead of 16 positions.
enum class DotKind { None, Vnni512, Avx2, Vnni512Lanes };
constexpr int64_t kLanePositions = 16;
constexpr int64_t kLaneChannels = 16;   // output channels per register of the lane kernel
constexpr int64_t kLaneTileBlocks = 4;  // registers of channels per tile: weight blocks come in fours

// One CONV2D's weights repacked for one dot kernel: per group, blocks of `rows` output channels, each laid out
// [k_groups][rows] words (Vnni512: four int8 weights, K padded to a multiple of 4, rows = kDotRows; Avx2: two
// int16 weights, K padded to even, rows = kPairRows; channels past the group's count are zero), and for Vnni512
// per output channel 128 * the sum of its weights.
struct PackedConvWeights {
  DotKind kind = DotKind::None;
  int64_t groups = 0, cout_g = 0, K = 0, k_quads = 0, row_blocks = 0;  // k_quads: k groups of the kind (4 or 2)
  std::vector<int32_t> words;
  std::vector<int32_t> correction;
};

// The kernel this CPU runs, checked once: Vnni512 when it has AVX-512 F, BW and VNNI and BPU_NO_AVX512 is unset
// or "0"; else Avx2 when it has AVX2 and BPU_NO_AVX2 is unset or "0"; else None (the portable Eigen path). The
// variables let the other paths be measured and tested on a CPU that has both.
DotKind int8_dot_kind();
// True when the CPU runs this kind (whatever the environment says): the tests run every kind the CPU has.
bool int8_dot_supported(DotKind kind);
// int8_dot_kind() != DotKind::None.
bool int8_dot_available();
// True when the geometry keeps every int32 sum exact: K <= 65536 (255 * 128 * 65536 < 2^31).
bool int8_dot_accepts(const ConvGeometry& g);

// True where Vnni512 runs the channel-lane kernel: output planes of at most kLanePositions positions, and
// grouped convolutions of at most kLaneChannels output channels per group at any plane size (RegNet's group
// width 8: the panel kernel's per-group im2col and phase rows cost 2-3x the lane kernel's, measured with
// scripts/bench/conv_grouped_threads.cpp).
bool lane_kernel_fits(const ConvGeometry& g);
// Packs for `kind`; Vnni512 becomes Vnni512Lanes where lane_kernel_fits.
PackedConvWeights pack_conv_weights(const ConvGeometry& g, const int8_t* weight, DotKind kind = int8_dot_kind());
// True when the Vnni512Lanes kernel reads the geometry's taps from a channel-last copy of the input (kernels
// narrower than 8 columns, or dilated), with its weights packed tap-major: K = taps * 4 * ceil(cin_g / 4), k-quad
// kq = (tap kq / ceil(cin_g / 4), input channels 4 * (kq % ceil(cin_g / 4)) ..., zero weights past cin_g).
bool lane_channels_last(const ConvGeometry& g);
// The Vnni512Lanes kernel (conv2d_int8_lanes.cpp); conv_accumulate_int8_dot dispatches to it.
void conv_accumulate_int8_lanes(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w, int32_t* acc,
                                std::vector<uint8_t>& cols, ThreadPool* pool);

// The lane kernel's per-channel requantization parameters (its fused form, conv_int8_lanes_requant): the spread
// arrays of the short-row requantization with one entry per packed channel (groups x row_blocks x kLaneChannels;
// padding channels take a neutral entry, never stored). Empty when some channel's worst case, |acc| <= acc_bound,
// does not fit the 64-bit lanes or its multiplier does not fit 32 bits (then accumulate and requantize_int32_rows).
std::vector<int64_t> lane_requant_spread(const PackedConvWeights& w, const RequantParams* params, int64_t acc_bound);
// conv_accumulate_int8_lanes followed by requantize_int32_rows in one pass: each tile's sums requantized in
// registers and stored to out[n, c, p], the same codes for every thread count (spread: lane_requant_spread of w,
// not empty).
template <typename OutT>
void conv_int8_lanes_requant(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w,
                             const std::vector<int64_t>& spread, int64_t lo, int64_t hi, OutT* out,
                             std::vector<uint8_t>& cols, ThreadPool* pool);

// acc[n, co, y, x] = sum of input * weight as int32 (NCHW), by the kernel `w` was packed for, which
// int8_dot_supported() must accept, and int8_dot_accepts(g). `panels` is scratch reused between calls; `pool` may
// be null (one thread).
void conv_accumulate_int8_dot(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w, int32_t* acc,
                              std::vector<uint8_t>& panels, ThreadPool* pool);

// A whole CONV2D on the kernel `w` was packed for (Vnni512 or Avx2, not the lane kernel): per block of output
// positions (about kBlockBytes of panels and accumulators), im2col, dot products and requantization into
// out[n, c, p], the blocks split across `pool` (null: one thread). The same codes as conv_accumulate_int8_dot
// followed by requantize_int32_rows, for every thread count; a worker writes only its own positions, so a chain
// of convolutions keeps each worker's share of a plane in its own cache.
constexpr int64_t kBlockBytes = 256 * 1024;
template <typename OutT>
void conv_int8_dot_requant(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w,
                           const RequantParams* params, int64_t acc_bound, int64_t lo, int64_t hi, OutT* out,
                           ThreadPool* pool);

// out[n, c, p] = clamp(requant_c(acc[n, c, p])): apply_requant on int32 accumulators, eight lanes at a time
// when the CPU has AVX-512 and acc_bound * multiplier + |bias| stays inside int64 (the scalar function's own
// fast-path condition), else apply_requant itself. Bit-identical to requantize_per_channel either way.
// Planes shorter than 8 spread the parameters to one entry per element first; `spread_cache` (kept by the
// caller per instruction, null: built in the call) holds that spread between calls.
template <typename OutT>
void requantize_int32_rows(const int32_t* acc, int64_t batch, int64_t channels, int64_t plane,
                           const RequantParams* params, int64_t acc_bound, int64_t lo, int64_t hi, OutT* out,
                           ThreadPool* pool, std::vector<int64_t>* spread_cache = nullptr);

}  // namespace bpu::kernels
