// Stepping, resetting and observing a batch of worlds; autoreset happens here.
#include "boxlcd/batch.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <thread>
#include <unistd.h>

#include "async_steps.hpp"
#include "boxlcd/error.hpp"
#include "thread_pool.hpp"
#include "world.hpp"

namespace boxlcd {
namespace {

// A Box2D 2.4 world carries a 100 KiB stack allocator plus its block allocator.
constexpr size_t world_overhead_bytes = 120 * 1024;
constexpr size_t body_bytes = 1024;

size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : 0;
}

}  // namespace

size_t bytes_per_env(const WorldDef& def) {
  const Layout layout = make_layout(def);
  const size_t outputs = 2 * (def.frame_rows() * static_cast<size_t>(def.frame_row_bytes()) +
                              4 * (layout.state_size() + layout.proprio_size())) +
                         4 * layout.action_size() + 32;
  return world_overhead_bytes + body_bytes * layout.bodies.size() + outputs;
}

Batch::Batch(WorldDef def, int num_envs, int num_threads, uint64_t seed, AutoresetMode autoreset)
    : def_(std::move(def)), autoreset_(autoreset) {
  validate(def_);
  if (num_envs <= 0) throw Error("num_envs must be >= 1, got " + std::to_string(num_envs));
  if (num_threads < 0) throw Error("num_threads must be >= 0 (0: all cores), got " + std::to_string(num_threads));
  const size_t need = bytes_per_env(def_) * static_cast<size_t>(num_envs);
  const size_t have = physical_memory_bytes();
  if (have > 0 && need > have)
    throw Error("num_envs " + std::to_string(num_envs) + " needs about " + std::to_string(need >> 20) +
                " MiB, more than this machine's " + std::to_string(have >> 20) + " MiB");
  layout_ = make_layout(def_);
  num_envs_ = num_envs;
  num_threads_ = num_threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : num_threads;
  num_threads_ = std::min(num_threads_, num_envs_);

  const size_t n = static_cast<size_t>(num_envs_);
  frames_.assign(n * frame_bytes(), 0);
  final_frames_.assign(n * frame_bytes(), 0);
  full_state_.assign(n * state_size(), 0.0f);
  final_full_state_.assign(n * state_size(), 0.0f);
  proprio_.assign(n * proprio_size(), 0.0f);
  final_proprio_.assign(n * proprio_size(), 0.0f);
  reward_.assign(n, 0.0f);
  terminated_.assign(n, 0);
  truncated_.assign(n, 0);
  has_final_.assign(n, 0);
  needs_reset_.assign(n, 0);
  episode_step_.assign(n, 0);
  in_flight_.assign(n, 0);
  async_actions_.assign(n * action_size(), 0.0f);

  warm_up_box2d();
  worlds_.reserve(n);
  for (size_t i = 0; i < n; ++i) worlds_.push_back(std::make_unique<World>(def_, layout_));
  pool_ = std::make_unique<ThreadPool>(num_threads_);
  reset(seed);
}

Batch::~Batch() {
  async_.reset();  // join its threads before the worlds they step go away
}

template <class Fn>
void Batch::for_each_env(const uint8_t* mask, Fn&& fn) {
  pool_->parallel_for(num_envs_, [&](int i) {
    if (mask == nullptr || mask[i] != 0) fn(i);
  });
}

void Batch::write_observation(int i) {
  World& w = *worlds_[i];
  w.write_state(full_state_.data() + static_cast<size_t>(i) * state_size(),
                proprio_.data() + static_cast<size_t>(i) * proprio_size());
  if (frames_enabled_) w.render(frames_.data() + static_cast<size_t>(i) * frame_bytes());
  episode_step_[i] = w.episode_step;
}

void Batch::keep_final_observation(int i) {
  const size_t f = static_cast<size_t>(i) * frame_bytes();
  const size_t s = static_cast<size_t>(i) * state_size();
  const size_t p = static_cast<size_t>(i) * proprio_size();
  std::memcpy(final_frames_.data() + f, frames_.data() + f, frame_bytes());
  std::memcpy(final_full_state_.data() + s, full_state_.data() + s, sizeof(float) * state_size());
  std::memcpy(final_proprio_.data() + p, proprio_.data() + p, sizeof(float) * proprio_size());
  has_final_[i] = 1;
}

void Batch::reset(const uint8_t* mask) {
  require_idle("reset");
  for_each_env(mask, [&](int i) {
    worlds_[i]->reset_random();
    needs_reset_[i] = terminated_[i] = truncated_[i] = has_final_[i] = 0;
    reward_[i] = 0.0f;
    write_observation(i);
  });
}

void Batch::reset(uint64_t seed, const uint8_t* mask) {
  require_idle("reset");
  for_each_env(mask, [&](int i) { worlds_[i]->seed(seed + static_cast<uint64_t>(i)); });
  reset(mask);
}

void Batch::reset_to_state(const float* full_state, const uint8_t* mask) {
  require_idle("reset_to_state");
  const size_t d = state_size();
  for (int i = 0; i < num_envs_; ++i)
    if (mask == nullptr || mask[i] != 0) check_state_row(layout_, def_, full_state + i * d, i);
  for_each_env(mask, [&](int i) {
    const float* row = full_state + i * d;
    worlds_[i]->reset_to_state(row);
    needs_reset_[i] = terminated_[i] = truncated_[i] = has_final_[i] = 0;
    reward_[i] = 0.0f;
    write_observation(i);
    // The state a caller gave is its observation, bit for bit.
    std::memcpy(full_state_.data() + i * d, row, sizeof(float) * d);
    float* proprio = proprio_.data() + static_cast<size_t>(i) * proprio_size();
    for (size_t k = 0; k < layout_.proprio.size(); ++k) proprio[k] = row[layout_.proprio[k]];
  });
}

void Batch::check_action(int i, const float* action) const {
  if (autoreset_ == AutoresetMode::Disabled && needs_reset_[i])
    throw Error("env " + std::to_string(i) +
                " has ended its episode and autoreset is disabled; reset it (with a mask) first");
  for (int k = 0; k < action_size(); ++k)
    if (!std::isfinite(action[k]))
      throw Error("action[" + std::to_string(i) + ", " + std::to_string(k) + "] is not finite");
}

void Batch::require_idle(const char* what) const {
  if (async_ && async_->outstanding() > 0)
    throw Error(std::string(what) + ": " + std::to_string(async_->outstanding()) +
                " envs are still stepping asynchronously; recv them first");
}

void Batch::step_env(int i, const float* action) {
  World& w = *worlds_[i];
  has_final_[i] = 0;
  reward_[i] = 0.0f;
  if (needs_reset_[i]) {  // NextStep: this step only resets; its action is ignored
    w.reset_random();
    needs_reset_[i] = terminated_[i] = truncated_[i] = 0;
    write_observation(i);
    return;
  }
  w.apply_action(action);
  w.step_physics();
  terminated_[i] = 0;
  truncated_[i] = w.episode_step >= def_.ep_len;
  write_observation(i);
  if (!truncated_[i] && !terminated_[i]) return;
  if (autoreset_ == AutoresetMode::SameStep) {
    keep_final_observation(i);
    w.reset_random();
    write_observation(i);
  } else {
    needs_reset_[i] = 1;
  }
}

void Batch::step(const float* actions) {
  require_idle("step");
  const size_t a = action_size();
  for (int i = 0; i < num_envs_; ++i) check_action(i, actions + i * a);
  pool_->parallel_for(num_envs_, [&](int i) { step_env(i, actions + i * a); });
}

void Batch::send(const float* actions, const int32_t* envs, int count) {
  const size_t a = action_size();
  std::vector<int> ids(count);
  std::vector<uint8_t> sent(num_envs_, 0);
  for (int k = 0; k < count; ++k) {
    const int i = envs != nullptr ? envs[k] : k;
    if (i < 0 || i >= num_envs_)
      throw Error("env id " + std::to_string(i) + " is outside [0, " + std::to_string(num_envs_) + ")");
    if (sent[i]++ || in_flight_[i]) throw Error("env " + std::to_string(i) + " is already stepping; recv it first");
    check_action(i, actions + k * a);
    ids[k] = i;
  }
  // Actions are copied, so the caller may reuse its buffer at once.
  for (int k = 0; k < count; ++k) {
    std::copy(actions + k * a, actions + (k + 1) * a, async_actions_.begin() + ids[k] * a);
    in_flight_[ids[k]] = 1;
  }
  if (!async_)
    async_ = std::make_unique<AsyncSteps>(num_threads_, [this](int i) {
      step_env(i, async_actions_.data() + static_cast<size_t>(i) * action_size());
    });
  async_->post(ids);
}

int Batch::recv(int32_t* envs_out, int batch_size) {
  if (!async_) return 0;
  const std::vector<int> done = async_->take(batch_size);
  for (size_t k = 0; k < done.size(); ++k) {
    envs_out[k] = done[k];
    in_flight_[done[k]] = 0;
  }
  return static_cast<int>(done.size());
}

int Batch::in_flight() const { return async_ ? async_->outstanding() : 0; }

void Batch::set_frames_enabled(bool on) {
  require_idle("set_frames_enabled");
  frames_enabled_ = on;
  if (!on) {
    std::fill(frames_.begin(), frames_.end(), 0);
    std::fill(final_frames_.begin(), final_frames_.end(), 0);
  } else {
    pool_->parallel_for(num_envs_, [&](int i) {
      worlds_[i]->render(frames_.data() + static_cast<size_t>(i) * frame_bytes());
    });
  }
}

void Batch::render_rgb(int env, int rows, int cols, uint8_t* out) {
  if (env < 0 || env >= num_envs_)
    throw Error("env index " + std::to_string(env) + " is outside [0, " + std::to_string(num_envs_) + ")");
  if (rows < 1 || cols < 1 || rows > 16384 || cols > 16384)
    throw Error("render size must be in [1, 16384] on each side, got " + std::to_string(rows) + " x " +
                std::to_string(cols));
  if (in_flight_[env]) throw Error("render_rgb: env " + std::to_string(env) + " is stepping; recv it first");
  worlds_[env]->render_rgb(rows, cols, out);
}

}  // namespace boxlcd
