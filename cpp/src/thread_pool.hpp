// A fixed pool that runs one parallel loop at a time; the calling thread works too.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace boxlcd {

class ThreadPool {
 public:
  // threads counts the caller: 1 starts no thread and runs everything inline.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(i) for every i in [0, n), each exactly once, spread over the pool.
  // Which thread runs which i never matters to results: items share no state.
  void parallel_for(int n, const std::function<void(int)>& fn);

 private:
  void work_loop();
  void run_items();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* job_ = nullptr;
  int job_size_ = 0;
  int chunk_ = 1;
  std::atomic<int> next_{0};
  int busy_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

}  // namespace boxlcd
