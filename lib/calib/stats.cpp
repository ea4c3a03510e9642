// Calibration statistics and thresholds (see stats.h).

#include "calib/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bpu::calib {

void TensorStats::add_absmax(const float* x, size_t n) {
  double m = absmax;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(static_cast<double>(x[i])));
  absmax = m;
}

void TensorStats::add_histogram(const float* x, size_t n) {
  histogram.resize(kHistogramBins, 0);
  if (!(absmax > 0)) {
    histogram[0] += static_cast<int64_t>(n);
    return;
  }
  const double w = bin_width();
  for (size_t i = 0; i < n; ++i) {
    const double a = std::fabs(static_cast<double>(x[i]));
    if (a == 0) continue;  // exact zeros (half of a ReLU output) quantize exactly at every threshold
    int64_t k = static_cast<int64_t>(a / w);
    histogram[static_cast<size_t>(std::clamp<int64_t>(k, 0, kHistogramBins - 1))] += 1;
  }
}

void TensorStats::merge(const TensorStats& other) {
  absmax = std::max(absmax, other.absmax);
  if (other.histogram.empty()) return;
  histogram.resize(kHistogramBins, 0);
  for (size_t k = 0; k < other.histogram.size() && k < histogram.size(); ++k) histogram[k] += other.histogram[k];
}

double percentile_threshold(const std::vector<int64_t>& histogram, double bin_width, double p) {
  int64_t total = 0;
  for (int64_t c : histogram) total += c;
  if (total == 0) return bin_width * static_cast<double>(histogram.size());
  const double need = p * static_cast<double>(total);
  int64_t cumulative = 0;
  for (size_t k = 0; k < histogram.size(); ++k) {
    cumulative += histogram[k];
    if (static_cast<double>(cumulative) >= need) return static_cast<double>(k + 1) * bin_width;
  }
  return bin_width * static_cast<double>(histogram.size());
}

namespace {

// Smooths counts as onnxruntime's calibrator does (eps onto every empty bin, taken evenly from the others; every
// non-empty count is >= 1, so none turns negative), then normalizes to sum 1; false when the distribution cannot
// be formed (no count, or an entry that would not stay positive).
bool smooth_and_normalize(std::vector<double>& d) {
  size_t zeros = 0;
  for (double v : d) zeros += v == 0;
  const size_t nonzeros = d.size() - zeros;
  if (nonzeros == 0) return false;
  const double eps = 1e-4;
  const double take = eps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  double sum = 0;
  for (double& v : d) {
    v = v == 0 ? v + eps : v - take;
    if (!(v > 0)) return false;
    sum += v;
  }
  for (double& v : d) v /= sum;
  return true;
}

}  // namespace

double kl_threshold(const std::vector<int64_t>& histogram, double bin_width, int* best_i) {
  const int bins = static_cast<int>(histogram.size());
  double best_kl = std::numeric_limits<double>::infinity();
  int best = -1;
  double outliers_total = 0;
  for (int k = kKlLevels; k < bins; ++k) outliers_total += static_cast<double>(histogram[k]);
  std::vector<double> p, q;
  for (int i = kKlLevels; i <= bins; ++i) {
    // Counts at and above bin i are clipped into bin i-1; outliers_total holds their sum for this i.
    if (i > kKlLevels) outliers_total -= static_cast<double>(histogram[i - 1]);
    p.assign(histogram.begin(), histogram.begin() + i);
    p[i - 1] += outliers_total;
    q.assign(static_cast<size_t>(i), 0.0);
    const int group = i / kKlLevels;
    for (int j = 0; j < kKlLevels; ++j) {
      const int start = j * group, stop = j == kKlLevels - 1 ? i : start + group;
      double total = 0;
      int nonzero = 0;
      for (int k = start; k < stop; ++k) {
        total += static_cast<double>(histogram[k]);
        nonzero += histogram[k] > 0;
      }
      if (nonzero == 0) continue;
      for (int k = start; k < stop; ++k) q[k] = histogram[k] > 0 ? total / nonzero : 0.0;
    }
    if (!smooth_and_normalize(p) || !smooth_and_normalize(q)) continue;
    double kl = 0;
    for (int k = 0; k < i; ++k) kl += p[k] * std::log(p[k] / q[k]);
    if (kl < best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  if (best_i) *best_i = best;
  if (best < 0) return bin_width * bins;
  return (best + 0.5) * bin_width;
}

}  // namespace bpu::calib
