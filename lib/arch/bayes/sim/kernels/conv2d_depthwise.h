// Fast CONV2D for depthwise convolutions (groups = input channels = output channels) with int8 input: per
// channel and output row, int32 row accumulators updated one kernel tap at a time, loops the compiler
// vectorizes. Exact (|sum| <= 128 * 128 * kh * kw), tested identical to conv_accumulate_reference.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/bayes/sim/kernels/conv2d.h"

namespace bpu {
class ThreadPool;
}

namespace bpu::kernels {

// True for depthwise geometries whose int32 sums stay exact (kernel_h * kernel_w <= 65536).
bool depthwise_accepts(const ConvGeometry& g);

// Output planes of at most this many pixels run channel-last (vectorized over channels, any geometry); larger
// ones plane by plane (3x3 stride 1 and 2 with their own loops).
constexpr int64_t kChannelsLastPixels = 64;
bool depthwise_channels_last(const ConvGeometry& g);

// The channel-last kernel's weights, tap-major int32 [taps][Cp] (Cp: the channels rounded up to 8, zeros past
// them): built once per instruction by the caller (the simulator's workspace keeps them).
std::vector<int32_t> depthwise_tap_weights(const ConvGeometry& g, const int8_t* weight);

// acc[n, c, y, x] = sum over the window of input[n, c] * weight[c] as int32; planes split across `pool`
// (planes of at most kChannelsLastPixels: blocks of 8 channels).
// `tap_weights`: depthwise_tap_weights(g, weight) for the channel-last planes (null: built in the call).
void depthwise_accumulate_int8(const ConvGeometry& g, const int8_t* input, const int8_t* weight, int32_t* acc,
                               ThreadPool* pool, const std::vector<int32_t>* tap_weights = nullptr);

}  // namespace bpu::kernels
