// Per-tensor calibration statistics and the threshold methods that turn them into scales (docs/numerics.md §8):
// the absolute maximum, a 2048-bin histogram of |x| over [0, absmax] (streamed: memory per tensor is fixed), a
// percentile of |x| (hb_mapper's max_percentile) and the entropy (KL) threshold as TensorRT and onnxruntime's
// calibrators define it. All in double precision; the results do not depend on the order samples arrive in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bpu::calib {

constexpr int kHistogramBins = 2048;
constexpr int kKlLevels = 128;  // int8's positive levels

struct TensorStats {
  double absmax = 0;
  // kHistogramBins once the absmax pass is done; bin k holds the nonzero |x| in [k*w, (k+1)*w). Exact zeros are
  // left out: they quantize exactly at every threshold, and a ReLU output's spike at 0 would otherwise dominate KL.
  std::vector<int64_t> histogram;
  double bin_width() const { return absmax / kHistogramBins; }
  void add_absmax(const float* x, size_t n);
  // Needs the final absmax (the first pass over every sample).
  void add_histogram(const float* x, size_t n);
  void merge(const TensorStats& other);  // absmax: max; histograms: sums
};

// The smallest upper bin edge below which a share `p` (0 < p <= 1) of the histogram's counts lie.
double percentile_threshold(const std::vector<int64_t>& histogram, double bin_width, double p);

// The KL threshold: for i = 128..bins, P = the first i bins with the clipped counts added to the last, Q = the first
// i bins merged into 128 levels and spread back over their non-empty bins; both smoothed (eps 1e-4 on the counts)
// and normalized;
// the i with the least KL(P||Q) (the first on ties) gives (i + 0.5) * bin_width. `best_i` receives i. Returns
// bins * bin_width (the absmax) when no i qualifies.
double kl_threshold(const std::vector<int64_t>& histogram, double bin_width, int* best_i = nullptr);

}  // namespace bpu::calib
