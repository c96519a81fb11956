// Background threads that step single envs on request and report which have finished,
// so a caller's policy can run while envs step (EnvPool's asynchronous mode).
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace boxlcd {

class AsyncSteps {
 public:
  // step_env(i) is called on a background thread for each posted env i. Throws
  // std::runtime_error, with no thread left running, when a thread cannot be started.
  AsyncSteps(int threads, std::function<void(int)> step_env);
  ~AsyncSteps();
  AsyncSteps(const AsyncSteps&) = delete;
  AsyncSteps& operator=(const AsyncSteps&) = delete;

  void post(const std::vector<int>& envs);
  // Blocks until min(count, outstanding) envs have finished; returns them in finishing order.
  std::vector<int> take(int count);
  // The first exception a step threw since the last call (its env still counts as finished).
  std::exception_ptr take_error();
  int outstanding() const;

  // fork(): before it, the workers finish the envs they hold and take no more, and the lock
  // stays held across the fork so the queues are consistent in both processes. After it the
  // parent resumes; the child, whose copies of the workers do not exist, gets a new
  // AsyncSteps with the same queues from respawn() and must leave this one undestroyed.
  void hold_for_fork();
  void resume_after_fork();
  std::unique_ptr<AsyncSteps> respawn() const;

 private:
  void stop();
  void work_loop();

  int num_threads_;
  std::function<void(int)> step_env_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable finished_ready_;
  std::condition_variable idle_;  // running_ reached 0 while held for a fork
  std::deque<int> todo_;
  std::deque<int> finished_;
  int outstanding_ = 0;  // posted and not yet taken
  int running_ = 0;      // envs workers have taken from todo_ and not yet finished
  bool held_ = false;
  bool stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace boxlcd
