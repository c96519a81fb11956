// Background threads that step single envs on request and report which have finished,
// so a caller's policy can run while envs step (EnvPool's asynchronous mode).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace boxlcd {

class AsyncSteps {
 public:
  // step_env(i) is called on a background thread for each posted env i.
  AsyncSteps(int threads, std::function<void(int)> step_env);
  ~AsyncSteps();
  AsyncSteps(const AsyncSteps&) = delete;
  AsyncSteps& operator=(const AsyncSteps&) = delete;

  void post(const std::vector<int>& envs);
  // Blocks until min(count, outstanding) envs have finished; returns them in finishing order.
  std::vector<int> take(int count);
  int outstanding() const;

 private:
  void work_loop();

  std::function<void(int)> step_env_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable finished_ready_;
  std::deque<int> todo_;
  std::deque<int> finished_;
  int outstanding_ = 0;  // posted and not yet taken
  bool stopping_ = false;
};

}  // namespace boxlcd
