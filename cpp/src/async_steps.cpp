#include "async_steps.hpp"

#include <algorithm>

namespace boxlcd {

AsyncSteps::AsyncSteps(int threads, std::function<void(int)> step_env) : step_env_(std::move(step_env)) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { work_loop(); });
}

AsyncSteps::~AsyncSteps() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    todo_.clear();
  }
  work_ready_.notify_all();
  for (auto& t : threads_) t.join();
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

int AsyncSteps::outstanding() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return outstanding_;
}

void AsyncSteps::work_loop() {
  std::vector<int> envs;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || !todo_.empty(); });
      if (stopping_) return;
      // Take a share of the queue at once: one lock per env costs more than a small env's step.
      const size_t share = std::max<size_t>(1, todo_.size() / (4 * threads_.size()));
      envs.assign(todo_.begin(), todo_.begin() + share);
      todo_.erase(todo_.begin(), todo_.begin() + share);
    }
    for (int env : envs) step_env_(env);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_.insert(finished_.end(), envs.begin(), envs.end());
    }
    finished_ready_.notify_all();
  }
}

}  // namespace boxlcd
