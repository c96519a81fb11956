// A fixed pool that runs one parallel loop at a time; the calling thread works too.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace boxlcd {

class ThreadPool {
 public:
  // threads counts the caller: 1 starts no thread and runs everything inline. Throws
  // std::runtime_error, with no thread left running, when a thread cannot be started.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(i) for every i in [0, n), each exactly once, spread over the pool.
  // Which thread runs which i never matters to results: items share no state.
  // If fn throws, the first exception is rethrown here once every thread has finished.
  void parallel_for(int n, const std::function<void(int)>& fn);

 private:
  // Thread p owns the p-th contiguous share of the items, so an env keeps stepping on the same
  // core (its world stays in that core's cache); a thread that runs out steals from the others.
  struct alignas(64) Share {
    std::atomic<int> next{0};
    int end = 0;
  };

  void work_loop(int participant);
  void run_items(int participant);
  void stop();
  // Polls pred for a short while before the caller sleeps on a condition variable: waking a
  // sleeping thread (an idle vCPU, on a VM) costs tens of microseconds, a few % of a small batch.
  template <class Pred>
  static bool spin_until(Pred pred);

  std::vector<std::thread> workers_;
  std::unique_ptr<Share[]> shares_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* job_ = nullptr;
  int chunk_ = 1;
  std::atomic<int> busy_{0};
  std::atomic<uint64_t> generation_{0};
  bool stopping_ = false;
  std::exception_ptr error_;  // the current job's first exception, under mutex_
};

}  // namespace boxlcd
