// A small persistent worker pool for the simulator's kernels: parallel_for hands out disjoint index ranges,
// so every kernel that writes only its own range gives the same bytes for every thread count.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bpu {

class ThreadPool {
 public:
  // `threads` includes the calling thread: 1 runs everything inline and starts no worker.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls body(begin, end) on contiguous pieces of [0, count), at most one piece per thread, and returns when
  // all are done. Pieces are split by position only, never by timing.
  void parallel_for(int64_t count, const std::function<void(int64_t, int64_t)>& body);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t count_ = 0;
  std::atomic<uint64_t> generation_{0};  // bumped under mutex_ for every call (and at shutdown)
  std::atomic<int> pending_{0};           // workers still running the current call
  bool stop_ = false;
};

}  // namespace bpu
