#include "thread_pool.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BOXLCD_PAUSE() _mm_pause()
#else
#define BOXLCD_PAUSE() std::this_thread::yield()
#endif

namespace boxlcd {

ThreadPool::ThreadPool(int threads) : shares_(new Share[std::max(1, threads)]) {
  workers_.reserve(threads > 1 ? threads - 1 : 0);
  for (int i = 1; i < threads; ++i) {
    try {
      workers_.emplace_back([this, i] { work_loop(i); });
    } catch (const std::exception& e) {
      // Destroying the condition variables while started threads wait on them would hang.
      stop();
      throw std::runtime_error("could not start worker thread " + std::to_string(i) + " of " +
                               std::to_string(threads - 1) + " (" + e.what() + "); use fewer threads");
    }
  }
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

template <class Pred>
bool ThreadPool::spin_until(Pred pred) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kSpin = std::chrono::microseconds(100);
  const auto until = Clock::now() + kSpin;
  for (;;) {
    for (int k = 0; k < 64; ++k) {
      if (pred()) return true;
      BOXLCD_PAUSE();
    }
    if (Clock::now() >= until) return pred();
  }
}

void ThreadPool::run_items(int participant) {
  const auto& fn = *job_;
  const int p = size();
  for (int k = 0; k < p; ++k) {  // own share first, then the others'
    Share& share = shares_[(participant + k) % p];
    for (;;) {
      const int begin = share.next.fetch_add(chunk_, std::memory_order_relaxed);
      if (begin >= share.end) break;
      const int end = std::min(share.end, begin + chunk_);
      for (int i = begin; i < end; ++i) {
        try {
          fn(i);
        } catch (...) {  // an exception leaving a worker thread would terminate the process
          std::lock_guard<std::mutex> lock(mutex_);
          if (!error_) error_ = std::current_exception();
        }
      }
    }
  }
}

void ThreadPool::parallel_for(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    error_ = nullptr;
    const int p = size();
    for (int k = 0; k < p; ++k) {
      shares_[k].next.store(static_cast<int>(static_cast<int64_t>(n) * k / p), std::memory_order_relaxed);
      shares_[k].end = static_cast<int>(static_cast<int64_t>(n) * (k + 1) / p);
    }
    // Small chunks balance uneven envs; not so small that the counters are contended.
    chunk_ = std::max(1, n / (p * 8));
    busy_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_items(0);
  auto all_done = [this] { return busy_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, all_done);
  }
  job_ = nullptr;
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::work_loop(int participant) {
  uint64_t seen = 0;
  auto new_job = [&] { return generation_.load(std::memory_order_acquire) != seen; };
  for (;;) {
    if (!spin_until(new_job)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || new_job(); });
      if (stopping_) return;
    }
    {
      // The job's fields were written under the mutex; taking it orders this thread after them.
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      seen = generation_.load(std::memory_order_relaxed);
    }
    run_items(participant);
    if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);  // the caller checks busy_ under it before it sleeps
      done_.notify_one();
    }
  }
}

}  // namespace boxlcd
