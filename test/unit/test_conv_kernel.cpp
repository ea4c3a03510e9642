// CONV2D kernels: the fast im2col + Eigen GEMM path and the AVX-512 VNNI dot path (when this CPU has it) must
// be bit-identical to the reference loops for every geometry: padding borders, stride > kernel, dilation,
// depthwise (groups = channels), K > 1024, K not a multiple of 4, channel counts not a multiple of 8, int16
// input; the reference must equal a direct double-precision sum; the int32 requantization equals the scalar one.

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "arch/bayes/sim/kernels/conv2d.h"
#include "arch/bayes/sim/kernels/conv2d_depthwise.h"
#include "arch/bayes/sim/kernels/conv2d_int8_dot.h"
#include "arch/bayes/sim/kernels/deconv2d.h"
#include "arch/bayes/sim/kernels/lut.h"
#include "common/thread_pool.h"
#include "test_helpers.h"

using namespace bpu;
using namespace bpu::kernels;

namespace {

// conv_int8_dot_requant (im2col, dot and requantization per block of positions), or for the lane kernel
// conv_int8_lanes_requant, against the reference sums requantized by requantize_per_channel, for 1, 2 and 3
// threads, int8 with a fused ReLU and int16 outputs.
void check_dot_requant(const ConvGeometry& g, const std::vector<int8_t>& x, const PackedConvWeights& packed,
                       const std::vector<int64_t>& ref) {
  std::vector<RequantParams> params;
  for (int64_t c = 0; c < g.out_channels; ++c) params.push_back(make_conv_requant(0.02, 0.003 + 0.0001 * c, 0.05, 0.7 - 0.1 * c));
  const int64_t P = g.out_h * g.out_w, bound = 16384 * (g.in_channels / g.groups) * g.kernel_h * g.kernel_w;
  std::vector<int8_t> want8(ref.size()), got8(ref.size());
  std::vector<int16_t> want16(ref.size()), got16(ref.size());
  requantize_per_channel(ref.data(), g.batch, g.out_channels, P, params.data(), 0, 127, want8.data());
  requantize_per_channel(ref.data(), g.batch, g.out_channels, P, params.data(), -32768, 32767, want16.data());
  const bool lanes = packed.kind == DotKind::Vnni512Lanes;
  const std::vector<int64_t> spread = lanes ? lane_requant_spread(packed, params.data(), bound) : std::vector<int64_t>{};
  if (lanes) REQUIRE_FALSE(spread.empty());
  std::vector<uint8_t> cols;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::fill(got8.begin(), got8.end(), int8_t{99});
    std::fill(got16.begin(), got16.end(), int16_t{99});
    if (lanes) {  // the lane kernel requantizing in registers
      conv_int8_lanes_requant(g, x.data(), packed, spread, 0, 127, got8.data(), cols, &pool);
      conv_int8_lanes_requant(g, x.data(), packed, spread, -32768, 32767, got16.data(), cols, &pool);
    } else {
      conv_int8_dot_requant(g, x.data(), packed, params.data(), bound, 0, 127, got8.data(), &pool);
      conv_int8_dot_requant(g, x.data(), packed, params.data(), bound, -32768, 32767, got16.data(), &pool);
    }
    INFO((lanes ? "lanes" : "fused dot") << " + requant, " << threads << " threads");
    REQUIRE(got8 == want8);
    REQUIRE(got16 == want16);
  }
}

template <typename T>
void check_geometry(ConvGeometry g, int64_t pad_bottom, int64_t pad_right, uint64_t seed) {
  g.out_h = conv_output_size(g.in_h, g.kernel_h, g.stride_h, g.pad_top, pad_bottom, g.dilation_h);
  g.out_w = conv_output_size(g.in_w, g.kernel_w, g.stride_w, g.pad_left, pad_right, g.dilation_w);
  REQUIRE(g.out_h > 0);
  REQUIRE(g.out_w > 0);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> in_dist(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  std::uniform_int_distribution<int> w_dist(-128, 127);
  std::vector<T> x(g.batch * g.in_channels * g.in_h * g.in_w);
  for (auto& v : x) v = static_cast<T>(in_dist(rng));
  // Saturate a corner so extreme products appear.
  x[0] = std::numeric_limits<T>::min();
  std::vector<int8_t> w(g.out_channels * (g.in_channels / g.groups) * g.kernel_h * g.kernel_w);
  for (auto& v : w) v = static_cast<int8_t>(w_dist(rng));
  w[0] = -128;
  size_t n_out = g.batch * g.out_channels * g.out_h * g.out_w;
  std::vector<int64_t> ref(n_out), fast(n_out);
  conv_accumulate_reference(g, x.data(), w.data(), ref.data());
  conv_accumulate_fast(g, x.data(), w.data(), fast.data());
  REQUIRE(ref == fast);
  if constexpr (std::is_same_v<T, int8_t>) {
    if (depthwise_accepts(g)) {
      std::vector<int32_t> dw(n_out);
      for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        std::fill(dw.begin(), dw.end(), 0x5A5A5A5A);  // the simulator's accumulators are reused, not zeroed
        depthwise_accumulate_int8(g, x.data(), w.data(), dw.data(), &pool);
        REQUIRE(std::equal(ref.begin(), ref.end(), dw.begin()));
      }
    }
    for (DotKind kind : {DotKind::Vnni512, DotKind::Avx2}) {
      if (!int8_dot_supported(kind)) {
        WARN((kind == DotKind::Avx2 ? "AVX2" : "AVX-512 VNNI") << " not available on this CPU: its dot kernel is not exercised");
        continue;
      }
      if (!int8_dot_accepts(g)) continue;
      const PackedConvWeights packed = pack_conv_weights(g, w.data(), kind);
      std::vector<int32_t> dot(n_out);
      std::vector<uint8_t> panels;
      for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        std::fill(dot.begin(), dot.end(), 0x5A5A5A5A);
        conv_accumulate_int8_dot(g, x.data(), packed, dot.data(), panels, &pool);
        INFO((kind == DotKind::Avx2 ? "AVX2" : "AVX-512 VNNI") << ", " << threads << " threads");
        REQUIRE(std::equal(ref.begin(), ref.end(), dot.begin()));
      }
      check_dot_requant(g, x, packed, ref);
    }
  }
  // Spot-check the reference against an independent double sum at output (0, last channel, 0, 0).
  const int64_t co = g.out_channels - 1, cin_g = g.in_channels / g.groups, grp = co / (g.out_channels / g.groups);
  double sum = 0;
  for (int64_t ci = 0; ci < cin_g; ++ci)
    for (int64_t ky = 0; ky < g.kernel_h; ++ky)
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
        int64_t iy = -g.pad_top + ky * g.dilation_h, ix = -g.pad_left + kx * g.dilation_w;
        if (iy < 0 || ix < 0 || iy >= g.in_h || ix >= g.in_w) continue;
        sum += double(x[((grp * cin_g + ci) * g.in_h + iy) * g.in_w + ix]) * w[((co * cin_g + ci) * g.kernel_h + ky) * g.kernel_w + kx];
      }
  CHECK(ref[co * g.out_h * g.out_w] == static_cast<int64_t>(sum));
}

ConvGeometry geo(int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t k, int64_t s, int64_t p, int64_t d, int64_t groups) {
  ConvGeometry g;
  g.batch = 1;
  g.in_channels = cin;
  g.in_h = h;
  g.in_w = w;
  g.out_channels = cout;
  g.kernel_h = g.kernel_w = k;
  g.stride_h = g.stride_w = s;
  g.pad_top = g.pad_left = p;
  g.dilation_h = g.dilation_w = d;
  g.groups = groups;
  return g;
}

}  // namespace

TEST_CASE("conv kernel: fast equals reference on padded 3x3", "[kernel]") { check_geometry<int8_t>(geo(3, 9, 7, 5, 3, 1, 1, 1, 1), 1, 1, 1); }
TEST_CASE("conv kernel: stride larger than kernel", "[kernel]") { check_geometry<int8_t>(geo(4, 11, 10, 6, 2, 3, 0, 1, 1), 0, 0, 2); }
TEST_CASE("conv kernel: asymmetric padding and stride 2", "[kernel]") { check_geometry<int8_t>(geo(4, 8, 8, 4, 3, 2, 1, 1, 1), 0, 2, 3); }
TEST_CASE("conv kernel: dilation 2", "[kernel]") { check_geometry<int8_t>(geo(3, 10, 10, 4, 3, 1, 2, 2, 1), 2, 2, 4); }
TEST_CASE("conv kernel: depthwise (groups = channels)", "[kernel]") { check_geometry<int8_t>(geo(8, 7, 7, 8, 3, 1, 1, 1, 8), 1, 1, 5); }
TEST_CASE("conv kernel: depthwise with stride 2, dilation 2 and wide padding", "[kernel]") {
  check_geometry<int8_t>(geo(6, 19, 23, 6, 3, 2, 1, 1, 6), 1, 1, 15);
  check_geometry<int8_t>(geo(5, 12, 17, 5, 3, 1, 2, 2, 5), 2, 2, 16);
  check_geometry<int8_t>(geo(4, 5, 6, 4, 5, 1, 4, 1, 4), 4, 4, 17);  // padding wider than the input
  check_geometry<int8_t>(geo(4, 10, 9, 4, 3, 2, 0, 1, 4), 1, 1, 18);  // 3x3/2 padded only bottom and right
  check_geometry<int8_t>(geo(3, 2, 3, 3, 3, 1, 2, 1, 3), 2, 2, 19);   // 3x3/1, pads as wide as the input
  check_geometry<int8_t>(geo(3, 2, 2, 3, 3, 2, 3, 1, 3), 3, 3, 20);   // 3x3/2, pads wider than the input
  // Planes above kChannelsLastPixels take the per-plane 3x3 loops (stride 1, stride 2 on even/odd columns);
  // smaller ones the channel-last loops, any kernel, stride and dilation.
  check_geometry<int8_t>(geo(5, 20, 21, 5, 3, 1, 1, 1, 5), 1, 1, 21);
  check_geometry<int8_t>(geo(5, 21, 20, 5, 3, 2, 1, 1, 5), 1, 1, 22);
  // Other geometries on planes above kChannelsLastPixels: stride phases (5x5 stride 1 and 2, 3x3 stride 3,
  // 7x7 dilation 2, asymmetric padding).
  check_geometry<int8_t>(geo(4, 16, 15, 4, 5, 1, 2, 1, 4), 2, 2, 27);
  check_geometry<int8_t>(geo(3, 23, 22, 3, 5, 2, 2, 1, 3), 1, 2, 28);
  check_geometry<int8_t>(geo(3, 31, 29, 3, 3, 3, 1, 1, 3), 0, 1, 29);
  check_geometry<int8_t>(geo(2, 26, 27, 2, 7, 1, 5, 2, 2), 6, 4, 30);
  check_geometry<int8_t>(geo(4, 24, 19, 4, 3, 2, 1, 1, 4), 0, 2, 23);
  check_geometry<int8_t>(geo(40, 4, 4, 40, 3, 1, 1, 1, 40), 1, 1, 24);
  check_geometry<int8_t>(geo(37, 8, 7, 37, 3, 2, 1, 1, 37), 0, 1, 25);
  check_geometry<int8_t>(geo(19, 9, 9, 19, 5, 2, 2, 2, 19), 3, 1, 26);
  check_geometry<int8_t>(geo(24, 2, 2, 24, 3, 1, 1, 1, 24), 1, 1, 31);
  // Channel-last pair form: 5x5 on 2x2 and 4x4 (MnasNet's late stages, most taps in the padding), channel counts
  // past a multiple of 16, an even kernel width (the last pair whole), dilation 2, stride 2 with asymmetric pads.
  check_geometry<int8_t>(geo(33, 2, 2, 33, 5, 1, 2, 1, 33), 2, 2, 32);
  check_geometry<int8_t>(geo(50, 4, 4, 50, 5, 1, 2, 1, 50), 2, 2, 33);
  check_geometry<int8_t>(geo(17, 5, 6, 17, 4, 1, 1, 1, 17), 2, 2, 34);
  check_geometry<int8_t>(geo(20, 7, 7, 20, 3, 1, 2, 2, 20), 2, 2, 35);
  check_geometry<int8_t>(geo(18, 9, 8, 18, 5, 2, 1, 1, 18), 2, 3, 36);
  check_geometry<int8_t>(geo(16, 3, 1, 16, 3, 1, 1, 1, 16), 1, 1, 37);  // one-column plane
  check_geometry<int8_t>(geo(16, 4, 1, 16, 5, 1, 4, 2, 16), 4, 4, 38);  // one column, dilation 2: pairs past the input
}
TEST_CASE("conv kernel: grouped with 2 outputs per group", "[kernel]") { check_geometry<int8_t>(geo(6, 5, 6, 12, 3, 1, 1, 1, 3), 1, 1, 6); }
TEST_CASE("conv kernel: 1x1 pointwise fast path", "[kernel]") { check_geometry<int8_t>(geo(16, 6, 5, 8, 1, 1, 0, 1, 1), 0, 0, 7); }
TEST_CASE("conv kernel: K > 1024 is summed in several exact chunks", "[kernel]") {
  check_geometry<int8_t>(geo(300, 4, 4, 3, 3, 1, 1, 1, 1), 1, 1, 8);  // K = 2700
}
TEST_CASE("conv kernel: K not a multiple of 4, 7x7 stride 2 (the resnet stem)", "[kernel]") {
  check_geometry<int8_t>(geo(3, 37, 41, 10, 7, 2, 3, 1, 1), 3, 3, 12);  // K = 147, 10 channels
}
TEST_CASE("conv kernel: wide rows take the vector gather paths", "[kernel]") {
  check_geometry<int8_t>(geo(5, 9, 70, 17, 3, 2, 1, 1, 1), 1, 1, 13);  // stride 2 over 70 columns
  check_geometry<int8_t>(geo(4, 6, 53, 9, 3, 1, 1, 1, 1), 1, 1, 14);   // stride 1 over 53 columns
}
TEST_CASE("conv kernel: blocks of the fused dot path (several blocks per worker, grid rows, batch and groups)", "[kernel]") {
  // K = 2304: about two panels per block, 9 panels of 14x31 = 434 positions (3x3/1: one phase, grid 33 wide,
  // padding only right and bottom); dilation 3 with wide padding; stride 2 over several blocks; stride 5 (rows
  // gathered) and stride 3 with dilation 2 (9 phases); batch 2 with 2 groups.
  check_geometry<int8_t>(geo(256, 14, 31, 20, 3, 1, 0, 1, 1), 2, 2, 30);
  check_geometry<int8_t>(geo(12, 17, 19, 9, 3, 1, 4, 3, 1), 2, 5, 31);
  check_geometry<int8_t>(geo(256, 27, 29, 12, 3, 2, 1, 1, 1), 1, 1, 32);
  check_geometry<int8_t>(geo(7, 40, 37, 5, 3, 5, 1, 1, 1), 2, 0, 34);  // stride 5: gathered rows, not phases
  check_geometry<int8_t>(geo(6, 23, 26, 7, 5, 3, 2, 2, 1), 1, 3, 35);  // stride 3, dilation 2: phases
  check_geometry<int8_t>(geo(4, 3, 3, 5, 3, 1, 4, 1, 1), 4, 4, 36);    // pads wider than the input
  check_geometry<int8_t>(geo(4, 3, 4, 5, 3, 2, 3, 1, 1), 0, 5, 37);    // stride 2, pads past the input
  ConvGeometry g = geo(8, 11, 13, 6, 3, 1, 1, 1, 2);  // 3 channels per group: the lane kernel (lane_kernel_fits)
  g.batch = 2;
  check_geometry<int8_t>(g, 1, 1, 33);
  ConvGeometry wide = geo(8, 11, 13, 40, 3, 1, 1, 1, 2);  // 20 channels per group: the panel kernel's groups
  wide.out_h = 11;  // check_geometry sets the output size; the choice needs it
  wide.out_w = 13;
  REQUIRE_FALSE(lane_kernel_fits(wide));
  wide.batch = 2;
  check_geometry<int8_t>(wide, 1, 1, 60);
}
TEST_CASE("conv kernel: int16 input uses the double path", "[kernel]") { check_geometry<int16_t>(geo(130, 5, 5, 4, 3, 1, 1, 1, 1), 1, 1, 9); }

TEST_CASE("conv kernel: requantization saturates to the output type", "[kernel]") {
  std::vector<int64_t> acc = {1 << 20, -(1 << 20), 3, -3};
  RequantParams p;  // identity multiplier
  std::vector<int8_t> out8(4);
  requantize_per_channel(acc.data(), 1, 1, 4, &p, -128, 127, out8.data());
  CHECK(out8 == std::vector<int8_t>{127, -128, 3, -3});
  std::vector<int16_t> out16(4);
  requantize_per_channel(acc.data(), 1, 1, 4, &p, 0, 32767, out16.data());  // fused ReLU
  CHECK(out16 == std::vector<int16_t>{32767, 0, 3, 0});
}

TEST_CASE("conv kernel: every thread count gives the same accumulators", "[kernel]") {
  ConvGeometry g = geo(16, 40, 40, 24, 3, 1, 1, 1, 1);
  g.out_h = g.out_w = 40;
  std::vector<int8_t> x(16 * 40 * 40), w(24 * 16 * 9);
  std::mt19937_64 rng(11);
  for (auto& v : x) v = static_cast<int8_t>(rng() % 256);
  for (auto& v : w) v = static_cast<int8_t>(rng() % 256);
  std::vector<int64_t> one(24 * 40 * 40), ref(one.size());
  conv_accumulate_fast(g, x.data(), w.data(), one.data(), 1);
  conv_accumulate_reference(g, x.data(), w.data(), ref.data());
  REQUIRE(one == ref);
  for (int threads : {2, 3, 7}) {
    std::vector<int64_t> many(one.size());
    conv_accumulate_fast(g, x.data(), w.data(), many.data(), threads);
    CHECK(many == one);
  }
}

TEST_CASE("conv kernel: int32 requantization equals requantize_per_channel", "[kernel]") {
  // Planes through the 16- and 8-lane steps and the scalar tail (37, 24, 61), and planes shorter than a register
  // (the short-row path, taken when every channel's worst case fits 64 bits: the first four channels; all five
  // force the scalar rows).
  for (const int64_t plane : {37, 24, 61, 1, 3, 4, 7}) {
    for (const int64_t channels : {5, 4}) {
      INFO("plane " << plane << ", " << channels << " channels");
      std::mt19937_64 rng(21 + plane);
      const int64_t batch = 3;
      std::vector<int32_t> acc32(batch * channels * plane);
      std::vector<int64_t> acc64(acc32.size());
      const int64_t bound = 16384 * 4608;
      for (size_t i = 0; i < acc32.size(); ++i) {
        acc32[i] = static_cast<int32_t>(static_cast<int64_t>(rng() % (2 * bound + 1)) - bound);
        acc64[i] = acc32[i];
      }
      acc32[0] = static_cast<int32_t>(bound);
      acc64[0] = bound;
      std::vector<RequantParams> params = {
          make_conv_requant(0.02, 0.003, 0.05, 0.7), make_conv_requant(0.5, 0.01, 0.001, -3.0),
          make_accumulator_output(0.02, 0.003, 0.25), {1 << 30, 1, 1},  // exact ties at shift 1
          {2147483647, 62, int64_t(1) << 61}};                        // worst case: the scalar fallback
      params.resize(static_cast<size_t>(channels));
      ThreadPool pool(2);
      std::vector<int8_t> ref8(acc32.size()), got8(acc32.size());
      requantize_per_channel(acc64.data(), batch, channels, plane, params.data(), -128, 127, ref8.data());
      requantize_int32_rows(acc32.data(), batch, channels, plane, params.data(), bound, -128, 127, got8.data(), &pool);
      CHECK(ref8 == got8);
      std::vector<int64_t> spread;  // the simulator's per-instruction cache: built by the first call, read by the next
      for (int call = 0; call < 2; ++call) {
        std::vector<int8_t> cached(acc32.size());
        requantize_int32_rows(acc32.data(), batch, channels, plane, params.data(), bound, -128, 127, cached.data(), &pool, &spread);
        CHECK(ref8 == cached);
      }
      std::vector<int16_t> ref16(acc32.size()), got16(acc32.size());
      requantize_per_channel(acc64.data(), batch, channels, plane, params.data(), 0, 32767, ref16.data());
      requantize_int32_rows(acc32.data(), batch, channels, plane, params.data(), bound, 0, 32767, got16.data(), nullptr);
      CHECK(ref16 == got16);
      std::vector<int32_t> ref32(acc32.size()), got32(acc32.size());
      const int64_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
      requantize_per_channel(acc64.data(), batch, channels, plane, params.data(), lo, hi, ref32.data());
      requantize_int32_rows(acc32.data(), batch, channels, plane, params.data(), bound, lo, hi, got32.data(), &pool);
      CHECK(ref32 == got32);
    }
  }
}

TEST_CASE("conv kernel: vector requantization rounds every tie to even like the definition", "[kernel]") {
  // Small shifts make exact halves frequent: every accumulator in [-2048, 2047] through shifts 1-4 (and 0), on
  // the 16-lane, 8-lane and scalar steps (4096 = 256 rows of 16; the plane of 4101 adds an 8-lane step and a tail).
  for (const int64_t plane : {4096, 4101}) {
    std::vector<int32_t> acc32(static_cast<size_t>(plane));
    std::vector<int64_t> acc64(acc32.size());
    for (int64_t i = 0; i < plane; ++i) acc64[static_cast<size_t>(i)] = acc32[static_cast<size_t>(i)] = static_cast<int32_t>(i % 4096 - 2048);
    for (const RequantParams& p : {RequantParams{1, 1, 0}, RequantParams{1, 2, 0}, RequantParams{3, 3, -5},
                                   RequantParams{-7, 4, 3}, RequantParams{5, 0, 1}}) {
      INFO("multiplier " << p.multiplier << " shift " << p.shift << " bias " << p.bias << ", plane " << plane);
      std::vector<int16_t> want(acc32.size()), got(acc32.size());
      requantize_per_channel(acc64.data(), 1, 1, plane, &p, -32768, 32767, want.data());
      requantize_int32_rows(acc32.data(), 1, 1, plane, &p, 2048, -32768, 32767, got.data(), nullptr);
      CHECK(want == got);
    }
  }
}

TEST_CASE("thread pool: every index is visited exactly once", "[kernel]") {
  for (int threads : {1, 2, 5}) {
    ThreadPool pool(threads);
    for (int64_t count : {1, 2, 7, 1000}) {
      std::vector<int> hits(static_cast<size_t>(count), 0);
      pool.parallel_for(count, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
      });
      CHECK(std::count(hits.begin(), hits.end(), 1) == count);
    }
  }
}

namespace {

// The fast DECONV2D loop order and the int8 dot path (columns + col2im, 1 and 3 workers, where AVX-512 VNNI
// runs) give the reference's accumulators exactly.
void check_deconv(ConvGeometry g, int64_t pad_end, uint32_t seed) {
  g.out_h = (g.in_h - 1) * g.stride_h - g.pad_top - pad_end + g.dilation_h * (g.kernel_h - 1) + 1;
  g.out_w = (g.in_w - 1) * g.stride_w - g.pad_left - pad_end + g.dilation_w * (g.kernel_w - 1) + 1;
  REQUIRE(g.out_h > 0);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> code(-128, 127);
  std::vector<int64_t> x(static_cast<size_t>(g.in_channels * g.in_h * g.in_w));
  for (auto& v : x) v = code(rng);
  std::vector<int8_t> w(static_cast<size_t>(g.in_channels * (g.out_channels / g.groups) * g.kernel_h * g.kernel_w));
  for (auto& v : w) v = static_cast<int8_t>(code(rng));
  w[0] = 0;  // the fast kernel skips zero weights
  std::vector<int64_t> ref(static_cast<size_t>(g.out_channels * g.out_h * g.out_w)), fast(ref.size(), 99);
  deconv_accumulate_reference(g, x.data(), w.data(), ref.data());
  deconv_accumulate_fast(g, x.data(), w.data(), fast.data());
  CHECK(fast == ref);
  if (!int8_dot_available() || !int8_dot_accepts(deconv_columns_geometry(g))) return;
  const std::vector<int8_t> x8(x.begin(), x.end());
  const PackedConvWeights packed = pack_deconv_weights(g, w.data());  // the kind this CPU runs
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    std::vector<int32_t> cols;
    std::vector<uint8_t> panels;
    std::vector<int64_t> dot(ref.size(), 99);
    deconv_accumulate_int8_dot(g, x8.data(), packed, cols, panels, &pool, dot.data());
    CHECK(dot == ref);
  }
}

}  // namespace

TEST_CASE("deconv kernel: fast equals reference (2x2 s2, 3x3 s2 padded, dilation, groups, stride 3)", "[kernel]") {
  // geo(cin, h, w, cout, k, stride, pad, dilation, groups); ConvTranspose weights are [Cin, Cout/g, kh, kw]
  check_deconv(geo(32, 16, 16, 16, 2, 2, 0, 1, 1), 0, 1);  // the UNet's up-sampling
  check_deconv(geo(4, 7, 5, 6, 3, 2, 1, 1, 1), 1, 2);
  check_deconv(geo(4, 6, 6, 4, 3, 1, 2, 2, 1), 0, 3);
  check_deconv(geo(6, 5, 4, 9, 3, 3, 1, 1, 3), 2, 4);
  check_deconv(geo(3, 4, 4, 3, 4, 2, 3, 1, 3), 3, 5);  // depthwise, pads wider than the stride
  check_deconv(geo(8, 5, 5, 4, 3, 2, 1, 1, 2), -1, 6);   // output_padding 1: the last row and column get no pad
  check_deconv(geo(16, 3, 9, 8, 1, 2, 0, 1, 1), 0, 7);   // 1x1 kernel, stride 2: every other output is 0
}

TEST_CASE("lut kernel: the vector form equals the loop for every input byte and every tail length", "[kernel]") {
  std::mt19937_64 rng(31);
  std::vector<int8_t> table(256);
  for (auto& v : table) v = static_cast<int8_t>(rng());
  // (ctest unit.portable_kernels runs this again with BPU_NO_AVX512=1: the AVX2 form.)
  if (!lut_int8_vector_available()) WARN("neither AVX-512 VBMI nor AVX2 usable here: the vector LUT is not exercised");
  for (size_t n : {size_t{0}, size_t{1}, size_t{31}, size_t{32}, size_t{33}, size_t{63}, size_t{64}, size_t{65},
                   size_t{256}, size_t{1000}}) {
    std::vector<int8_t> x(n), ref(n), got(n, 0x55);
    for (size_t k = 0; k < n; ++k) x[k] = static_cast<int8_t>(n == 256 ? static_cast<int>(k) - 128 : static_cast<int>(rng() % 256) - 128);
    lut_int8_reference(table.data(), x.data(), n, ref.data());
    lut_int8(table.data(), x.data(), n, got.data());
    INFO(n << " values");
    CHECK(ref == got);
    for (size_t k = 0; k < n; ++k) CHECK(ref[k] == table[static_cast<size_t>(x[k] + 128)]);
  }
}

TEST_CASE("conv kernel: small output planes take the channel-lane kernel (2x2, 3x3, 4x4 with groups, K > 1024, batch)", "[kernel]") {
  check_geometry<int8_t>(geo(512, 2, 2, 70, 3, 1, 1, 1, 1), 1, 1, 41);    // K = 4608, 70 channels: a partial tile
  check_geometry<int8_t>(geo(64, 4, 4, 40, 1, 1, 0, 1, 1), 0, 0, 42);     // 16 positions: the limit
  check_geometry<int8_t>(geo(32, 5, 5, 24, 3, 2, 1, 1, 2), 1, 1, 43);     // groups, stride 2, 3x3 output
  check_geometry<int8_t>(geo(1100, 1, 1, 20, 1, 1, 0, 1, 1), 0, 0, 44);   // one position, K not a multiple of 4
  check_geometry<int8_t>(geo(6, 7, 7, 130, 5, 3, 2, 2, 1), 2, 2, 45);     // dilation, stride 3, 130 channels
  check_geometry<int8_t>(geo(3, 64, 64, 32, 16, 16, 0, 1, 1), 0, 0, 47);   // a ViT patch embedding: 16-byte rows, 2 live blocks
  check_geometry<int8_t>(geo(5, 7, 7, 16, 8, 2, 3, 1, 1), 3, 3, 48);       // row runs clipped on both sides, one live block
  check_geometry<int8_t>(geo(8, 6, 6, 40, 4, 2, 2, 1, 1), 1, 0, 49);       // tap path: even kernel, asymmetric pads, three live blocks
  ConvGeometry runs = geo(6, 9, 9, 36, 8, 2, 2, 1, 2);                     // row runs with groups (18 channels each) and a batch
  runs.batch = 2;
  check_geometry<int8_t>(runs, 2, 1, 50);
  ConvGeometry batched = geo(48, 2, 3, 33, 3, 1, 1, 1, 1);
  batched.batch = 3;
  check_geometry<int8_t>(batched, 1, 1, 46);
}

TEST_CASE("conv kernel: the channel-lane kernel's channel-last taps (RegNet groups, group channels not a multiple of 4, unread input)", "[kernel]") {
  check_geometry<int8_t>(geo(64, 4, 4, 64, 3, 1, 1, 1, 8), 1, 1, 51);    // RegNet: 8 channels per group, 4x4
  check_geometry<int8_t>(geo(48, 17, 17, 48, 3, 2, 1, 1, 6), 1, 1, 61);  // RegNet's first stage: 81 positions
  check_geometry<int8_t>(geo(440, 2, 2, 440, 3, 1, 1, 1, 55), 1, 1, 52);  // 55 groups on a 2x2 plane
  check_geometry<int8_t>(geo(15, 4, 4, 20, 3, 1, 1, 1, 5), 1, 1, 53);     // 3 channels per group: quads reach the next group
  check_geometry<int8_t>(geo(40, 7, 7, 40, 3, 2, 1, 1, 5), 1, 1, 54);     // 49 input positions, 40 channels: both tails
  check_geometry<int8_t>(geo(8, 6, 6, 16, 3, 2, 0, 1, 2), 0, 0, 55);      // the last input row and column are never read
  check_geometry<int8_t>(geo(24, 4, 4, 24, 3, 1, 2, 2, 3), 2, 2, 56);     // dilation 2 with groups
  check_geometry<int8_t>(geo(33, 8, 8, 48, 1, 2, 0, 1, 1), 0, 0, 57);     // 1x1 stride 2: every other input position
  check_geometry<int8_t>(geo(18, 3, 5, 12, 2, 1, 0, 1, 3), 1, 0, 58);     // even kernel, asymmetric pads, 6 per group
  ConvGeometry aspp = geo(16, 4, 4, 16, 3, 1, 12, 12, 1);  // dilation 12 on 4x4: the copy would span 27x27
  aspp.out_h = aspp.out_w = 4;
  REQUIRE_FALSE(lane_kernel_fits(aspp));  // the panel kernel instead
  check_geometry<int8_t>(aspp, 12, 12, 62);
  ConvGeometry batched = geo(20, 3, 3, 30, 3, 1, 1, 1, 10);                // a batch of grouped images
  batched.batch = 2;
  check_geometry<int8_t>(batched, 1, 1, 59);
}

TEST_CASE("thread pool: every index exactly once per call, across call sizes, thread counts and sleeping workers", "[kernel]") {
  for (int threads : {2, 3, 8}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> hits(4096);
    for (int call = 0; call < 3000; ++call) {
      const int64_t count = 1 + (call * 37) % 4096;
      for (int64_t k = 0; k < count; ++k) hits[static_cast<size_t>(k)].store(0);
      pool.parallel_for(count, [&](int64_t a, int64_t b) {
        for (int64_t k = a; k < b; ++k) hits[static_cast<size_t>(k)].fetch_add(1);
      });
      int64_t wrong = 0;
      for (int64_t k = 0; k < count; ++k) wrong += hits[static_cast<size_t>(k)].load() != 1;
      REQUIRE(wrong == 0);
      // Now and then long enough for the workers to go to sleep: the next call must wake them (or run alone).
      if (call % 1000 == 999) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}
