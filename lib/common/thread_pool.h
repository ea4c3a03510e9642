// A small persistent worker pool for the simulator's kernels: parallel_for hands out disjoint index ranges at
// fixed positions, so every kernel that writes only its own range gives the same bytes for every thread count.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
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
  // at fixed positions (one per thread); piece 0 goes to the caller and piece i to worker i first, so the same
  // part of every tensor stays on the same core from one call to the next, but a piece whose thread has not
  // come for it is taken by whoever is free: bodies must write only their own range for the result to be the
  // same for every thread count. One caller at a time, and a body must not call parallel_for on the same pool.
  void parallel_for(int64_t count, const std::function<void(int64_t, int64_t)>& body);

 private:
  void worker_loop(int index);
  bool claim(int64_t chunk, uint64_t call);
  void run_chunks(uint64_t call, int64_t own);  // runs chunk `own` of call `call`, then any chunk left

  std::vector<std::thread> workers_;
  // The current call: written by the caller before it publishes the ticket, read by whoever takes a chunk.
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t count_ = 0;
  std::atomic<int64_t> chunks_{0};
  std::atomic<uint64_t> ticket_{0};  // the current call's number
  std::unique_ptr<std::atomic<uint64_t>[]> claimed_;  // per chunk: the last call that took it
  std::atomic<int64_t> done_{0};     // chunks of the current call finished
  std::atomic<int> sleepers_{0};     // workers waiting on wake_
  std::atomic<bool> stop_{false};
  std::mutex mutex_;                 // only for sleeping and waking
  std::condition_variable wake_;
};

// pool->parallel_for(count, body), or body(0, count) on the calling thread when `pool` is null: for kernels
// that take an optional pool.
inline void parallel_for(ThreadPool* pool, int64_t count, const std::function<void(int64_t, int64_t)>& body) {
  if (pool) pool->parallel_for(count, body);
  else if (count > 0) body(0, count);
}

}  // namespace bpu
