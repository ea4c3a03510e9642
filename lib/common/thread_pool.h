// A small persistent worker pool for the simulator's kernels: parallel_for hands out disjoint index ranges at
// fixed positions, so every kernel that writes only its own range gives the same bytes for every thread count.
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

  // Calls body(begin, end) on contiguous pieces of [0, count) and returns when all are done. The pieces are cut
  // at fixed positions (one per thread); which thread runs which piece depends on timing, so bodies must
  // write only their own range for the result to be the same for every thread count.
  void parallel_for(int64_t count, const std::function<void(int64_t, int64_t)>& body);

 private:
  void worker_loop();
  void run_chunks();  // takes chunks of the current call until none is left

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  // The current call; written under mutex_ before generation_ is bumped, read by the threads that joined it.
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t count_ = 0, chunks_ = 0;
  std::atomic<int64_t> next_chunk_{0};
  bool open_ = false;                     // workers may still join the current call
  std::atomic<uint64_t> generation_{0};   // bumped under mutex_ for every call (and at shutdown)
  std::atomic<int> active_{0};            // workers inside the current call
  bool stop_ = false;
};

// pool->parallel_for(count, body), or body(0, count) on the calling thread when `pool` is null: for kernels
// that take an optional pool.
inline void parallel_for(ThreadPool* pool, int64_t count, const std::function<void(int64_t, int64_t)>& body) {
  if (pool) pool->parallel_for(count, body);
  else if (count > 0) body(0, count);
}

}  // namespace bpu
