#include "async_steps.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace boxlcd {

AsyncSteps::AsyncSteps(int threads, std::function<void(int)> step_env)
    : num_threads_(std::max(1, threads)), step_env_(std::move(step_env)) {
  threads_.reserve(num_threads_);
  for (int i = 0; i < num_threads_; ++i) {
    try {
      threads_.emplace_back([this] { work_loop(); });
    } catch (const std::exception& e) {
      stop();  // destroying condition variables that started threads wait on would hang
      throw std::runtime_error("could not start asynchronous stepping thread " + std::to_string(i + 1) + " of " +
                               std::to_string(num_threads_) + " (" + e.what() + "); use fewer threads");
    }
  }
}

AsyncSteps::~AsyncSteps() { stop(); }

void AsyncSteps::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    todo_.clear();
  }
  work_ready_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void AsyncSteps::post(const std::vector<int>& envs) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    todo_.insert(todo_.end(), envs.begin(), envs.end());
    outstanding_ += static_cast<int>(envs.size());
  }
  work_ready_.notify_all();
}

std::vector<int> AsyncSteps::take(int count) {
  std::unique_lock<std::mutex> lock(mutex_);
  const int want = std::min(count, outstanding_);
  finished_ready_.wait(lock, [&] { return static_cast<int>(finished_.size()) >= want; });
  std::vector<int> out(finished_.begin(), finished_.begin() + want);
  finished_.erase(finished_.begin(), finished_.begin() + want);
  outstanding_ -= want;
  return out;
}

std::exception_ptr AsyncSteps::take_error() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::exception_ptr error;
  std::swap(error, error_);
  return error;
}

int AsyncSteps::outstanding() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return outstanding_;
}

void AsyncSteps::hold_for_fork() {
  std::unique_lock<std::mutex> lock(mutex_);
  held_ = true;
  idle_.wait(lock, [&] { return running_ == 0; });
  lock.release();  // unlocked by resume_after_fork (parent) or never (child: respawn)
}

void AsyncSteps::resume_after_fork() {
  held_ = false;
  mutex_.unlock();
  work_ready_.notify_all();
}

std::unique_ptr<AsyncSteps> AsyncSteps::respawn() const {
  // Called in the child with mutex_ still held by hold_for_fork: the queues are consistent.
  auto fresh = std::make_unique<AsyncSteps>(num_threads_, step_env_);
  std::lock_guard<std::mutex> lock(fresh->mutex_);
  fresh->todo_ = todo_;
  fresh->finished_ = finished_;
  fresh->outstanding_ = outstanding_;
  fresh->error_ = error_;
  fresh->work_ready_.notify_all();
  return fresh;
}

void AsyncSteps::work_loop() {
  std::vector<int> envs;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || (!held_ && !todo_.empty()); });
      if (stopping_) return;
      // Take a share of the queue at once: one lock per env costs more than a small env's step.
      const size_t share = std::max<size_t>(1, todo_.size() / (4 * static_cast<size_t>(num_threads_)));
      envs.assign(todo_.begin(), todo_.begin() + share);
      todo_.erase(todo_.begin(), todo_.begin() + share);
      running_ += static_cast<int>(envs.size());
    }
    std::exception_ptr error;
    for (int env : envs) {
      try {
        step_env_(env);
      } catch (...) {  // an exception leaving this thread would terminate the process
        if (!error) error = std::current_exception();
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_.insert(finished_.end(), envs.begin(), envs.end());
      running_ -= static_cast<int>(envs.size());
      if (error && !error_) error_ = error;
      if (held_ && running_ == 0) idle_.notify_all();
    }
    finished_ready_.notify_all();
  }
}

}  // namespace boxlcd
