// Grouped CONV2D (RegNet's group width 8) through the simulator's int8 kernels on one and two threads, median of
// 2000 calls per geometry: planes of 16 positions or fewer take the channel-lane kernel (accumulate, then the
// int32 requantization), larger planes the fused dot kernel. Build and run from the repository root (AVX-512
// VNNI hosts):
//   g++ -O3 -march=x86-64-v3 -std=c++17 -Ilib scripts/bench/conv_grouped_threads.cpp \
//     lib/arch/bayes/sim/kernels/conv2d_int8_dot.cpp lib/arch/bayes/sim/kernels/conv2d_int8_lanes.cpp \
//     lib/common/thread_pool.cpp -o /tmp/conv_grouped_threads -lpthread && /tmp/conv_grouped_threads
#include "arch/bayes/sim/kernels/conv2d.h"
#include "arch/bayes/sim/kernels/conv2d_int8_dot.h"
#include "common/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

using namespace bpu;
using namespace bpu::kernels;
using namespace std::chrono;

ConvGeometry geo(int64_t c, int64_t co, int64_t h, int64_t k, int64_t s, int64_t groups) {
  ConvGeometry g;
  g.batch = 1;
  g.in_channels = c;
  g.out_channels = co;
  g.groups = groups;
  g.in_h = g.in_w = h;
  g.kernel_h = g.kernel_w = k;
  g.stride_h = g.stride_w = s;
  g.pad_top = g.pad_left = k / 2;
  g.dilation_h = g.dilation_w = 1;
  g.out_h = g.out_w = (h + 2 * (k / 2) - k) / s + 1;
  return g;
}

int main() {
  std::mt19937 rng(1);
  ThreadPool pool1(1), pool2(2);
  for (const ConvGeometry& g : {geo(48, 48, 32, 3, 2, 6), geo(104, 104, 16, 3, 2, 13), geo(104, 104, 8, 3, 1, 13),
                                geo(208, 208, 8, 3, 2, 26), geo(208, 208, 4, 3, 1, 26), geo(440, 440, 4, 3, 2, 55),
                                geo(440, 440, 2, 3, 1, 55), geo(440, 440, 2, 1, 1, 1)}) {
    std::vector<int8_t> x(static_cast<size_t>(g.in_channels * g.in_h * g.in_w));
    std::vector<int8_t> w(static_cast<size_t>(g.out_channels * (g.in_channels / g.groups) * g.kernel_h * g.kernel_w));
    for (auto& v : x) v = static_cast<int8_t>(rng());
    for (auto& v : w) v = static_cast<int8_t>(rng());
    const PackedConvWeights packed = pack_conv_weights(g, w.data());
    const int64_t P = g.out_h * g.out_w;
    std::vector<RequantParams> params(static_cast<size_t>(g.out_channels), RequantParams{1 << 20, 30, 0});
    std::vector<int8_t> y(static_cast<size_t>(g.out_channels * P));
    std::vector<int32_t> acc(y.size());
    std::vector<uint8_t> panels;
    std::vector<int64_t> spread;
    double median[2];
    for (int t = 0; t < 2; ++t) {
      ThreadPool* pool = t ? &pool2 : &pool1;
      std::vector<double> us;
      for (int i = 0; i < 2000; ++i) {
        const auto t0 = steady_clock::now();
        if (packed.kind == DotKind::Vnni512Lanes) {
          conv_accumulate_int8_dot(g, x.data(), packed, acc.data(), panels, pool);
          requantize_int32_rows(acc.data(), 1, g.out_channels, P, params.data(), 1LL << 40, -128, 127, y.data(), pool,
                                &spread);
        } else {
          conv_int8_dot_requant(g, x.data(), packed, params.data(), 1LL << 40, -128, 127, y.data(), pool);
        }
        us.push_back(duration<double, std::micro>(steady_clock::now() - t0).count());
      }
      std::sort(us.begin(), us.end());
      median[t] = us[us.size() / 2];
    }
    std::printf("%ld ch %ldx%ld k%ld s%ld groups %ld (%s): 1t %.2f us 2t %.2f us (%.2f)\n", g.in_channels, g.in_h,
                g.in_w, g.kernel_h, g.stride_h, g.groups, packed.kind == DotKind::Vnni512Lanes ? "lanes" : "dot",
                median[0], median[1], median[1] / median[0]);
  }
}
