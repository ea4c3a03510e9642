// Terminal progress line.

#include "common/progress.h"

#include <unistd.h>

#include <cstdio>

namespace bpu {

namespace {
bool g_enabled = false;
bool g_dirty = false;
}  // namespace

void enable_progress(bool enabled) { g_enabled = enabled && ::isatty(STDERR_FILENO); }

void report_progress(const std::string& phase, int done, int total) {
  if (!g_enabled) return;
  std::fprintf(stderr, "\r[%d/%d] %-60s", done, total, phase.c_str());
  std::fflush(stderr);
  g_dirty = true;
}

void end_progress() {
  if (!g_enabled || !g_dirty) return;
  std::fprintf(stderr, "\r%-72s\r", "");
  std::fflush(stderr);
  g_dirty = false;
}

}  // namespace bpu
