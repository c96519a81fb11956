// Stepping, resetting and observing a batch of worlds; autoreset happens here.
#include "boxlcd/batch.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <pthread.h>
#include <sys/mman.h>
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

// A batch that cannot fit fails when it is made, naming num_envs, rather than at some later step
// (which would leave it unusable): it checks that twice its estimate of the worlds can still be
// mapped (a world's address space is about 1.7 x the estimate: allocator chunks half used).
constexpr size_t address_space_factor = 2;
constexpr int max_threads = 1024;

size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : 0;
}

void check_address_space(size_t bytes, int num_envs) {
  void* p = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw OutOfMemory("num_envs " + std::to_string(num_envs) + " needs about " + std::to_string(bytes >> 20) +
                      " MiB of address space, more than this process can map (a memory limit such as "
                      "ulimit -v?); use fewer envs");
  munmap(p, bytes);
}

// Live batches, so that fork() can bring each to a consistent state (leaked: batches may be
// destroyed after static destructors have run).
std::mutex& registry_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::vector<Batch*>& registry() {
  static auto* v = new std::vector<Batch*>;
  return *v;
}

}  // namespace

struct Batch::Buffers {
  std::vector<uint8_t> frames, terminated, truncated, has_final, final_frames;
  std::vector<float> full_state, proprio, reward, final_full_state, final_proprio;
  std::vector<int32_t> episode_step;
};

// pthread_atfork handlers: before a fork every batch's lock is taken (so no call is half done)
// and its asynchronous steps are paused; after it the parent resumes and the child marks its
// batches forked, to restart their threads on first use.
struct Batch::ForkHooks {
  static void prepare() {
    registry_mutex().lock();
    for (Batch* b : registry()) b->before_fork();
  }
  static void parent() {
    for (Batch* b : registry()) b->after_fork(false);
    registry_mutex().unlock();
  }
  static void child() {
    for (Batch* b : registry()) b->after_fork(true);
    registry_mutex().unlock();
  }
  static void add(Batch* b) {
    static std::once_flag once;
    std::call_once(once, [] {
      if (pthread_atfork(prepare, parent, child) != 0) throw std::bad_alloc();
    });
    std::lock_guard<std::mutex> lock(registry_mutex());
    registry().push_back(b);
  }
  static void remove(Batch* b) {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto& v = registry();
    v.erase(std::remove(v.begin(), v.end(), b), v.end());
  }
};

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
  if (num_threads < 0 || num_threads > max_threads)
    throw Error("num_threads must be in [0, " + std::to_string(max_threads) + "] (0: all cores), got " +
                std::to_string(num_threads));
  const size_t need = bytes_per_env(def_) * static_cast<size_t>(num_envs);
  const size_t have = physical_memory_bytes();
  if (have > 0 && need > have)
    throw Error("num_envs " + std::to_string(num_envs) + " needs about " + std::to_string(need >> 20) +
                " MiB, more than this machine's " + std::to_string(have >> 20) + " MiB");
  check_address_space(address_space_factor * need, num_envs);
  layout_ = make_layout(def_);
  num_envs_ = num_envs;
  num_threads_ = num_threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : num_threads;
  num_threads_ = std::min(num_threads_, num_envs_);

  const size_t n = static_cast<size_t>(num_envs_);
  buffers_ = std::make_shared<Buffers>();
  Buffers& o = *buffers_;
  o.frames.assign(n * frame_bytes(), 0);
  o.final_frames.assign(n * frame_bytes(), 0);
  o.full_state.assign(n * state_size(), 0.0f);
  o.final_full_state.assign(n * state_size(), 0.0f);
  o.proprio.assign(n * proprio_size(), 0.0f);
  o.final_proprio.assign(n * proprio_size(), 0.0f);
  o.reward.assign(n, 0.0f);
  o.terminated.assign(n, 0);
  o.truncated.assign(n, 0);
  o.has_final.assign(n, 0);
  o.episode_step.assign(n, 0);
  needs_reset_.assign(n, 0);
  in_flight_.assign(n, 0);
  async_actions_.assign(n * action_size(), 0.0f);

  warm_up_box2d();
  worlds_.reserve(n);
  for (size_t i = 0; i < n; ++i) worlds_.push_back(std::make_unique<World>(def_, layout_));
  pool_ = std::make_unique<ThreadPool>(num_threads_);  // throws with no thread left running
  for_each_env(nullptr, [&](int i) { worlds_[i]->seed(seed + static_cast<uint64_t>(i)); });
  guard("Batch", [&] { reset_envs(nullptr); });
  ForkHooks::add(this);
}

Batch::~Batch() {
  ForkHooks::remove(this);
  release_threads();  // before the worlds their threads step go away
}

void Batch::release_threads() {
  if (forked_) {
    // The parent's threads do not exist here: joining them would wait forever, and their
    // locks may be held. Leave those objects undestroyed.
    (void)async_.release();
    (void)pool_.release();
    forked_ = false;
  }
  async_.reset();
  pool_.reset();
}

std::unique_lock<std::mutex> Batch::enter(const char* what) const {
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) throw StateError(std::string(what) + ": this batch is closed (close() was called); make a new one");
  if (unusable_)
    throw StateError(std::string(what) + ": this batch ran out of memory in an earlier call and its worlds may be "
                     "half stepped; close it and make a new one");
  // Restarting the threads changes no result; calls that only read are const to callers.
  if (forked_) const_cast<Batch*>(this)->adopt_after_fork();
  return lock;
}

Batch::Buffers& Batch::out() const { return *buffers_; }

template <class Fn>
void Batch::guard(const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const std::bad_alloc& e) {
    unusable_ = true;
    throw OutOfMemory(std::string(what) + ": out of memory (" + e.what() + ") with " + std::to_string(num_envs_) +
                      " envs; this batch is unusable now (close it); other batches keep working");
  }
}

void Batch::before_fork() {
  mutex_.lock();  // waits for a call running in another thread
  if (async_ && !forked_) async_->hold_for_fork();
}

void Batch::after_fork(bool in_child) {
  if (async_ && !forked_ && !in_child) async_->resume_after_fork();
  if (in_child && !closed_) forked_ = true;
  mutex_.unlock();
}

void Batch::adopt_after_fork() {
  // New threads first: if starting them fails, the call throws and the next one tries again.
  auto pool = std::make_unique<ThreadPool>(num_threads_);
  std::unique_ptr<AsyncSteps> async = async_ ? async_->respawn() : nullptr;
  (void)pool_.release();  // the parent's: see release_threads
  pool_ = std::move(pool);
  if (async) {
    (void)async_.release();
    async_ = std::move(async);
  }
  forked_ = false;
}

void Batch::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  release_threads();
  std::vector<std::unique_ptr<World>>().swap(worlds_);
  std::vector<float>().swap(async_actions_);
  std::vector<uint8_t>().swap(in_flight_);
  std::vector<uint8_t>().swap(needs_reset_);
  buffers_.reset();
  closed_ = true;
}

bool Batch::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

std::shared_ptr<void> Batch::buffer_owner() const {
  auto lock = enter("buffer_owner");
  return buffers_;
}

uint8_t* Batch::frames() { auto lock = enter("frames"); return out().frames.data(); }
float* Batch::full_state() { auto lock = enter("full_state"); return out().full_state.data(); }
float* Batch::proprio() { auto lock = enter("proprio"); return out().proprio.data(); }
float* Batch::reward() { auto lock = enter("reward"); return out().reward.data(); }
uint8_t* Batch::terminated() { auto lock = enter("terminated"); return out().terminated.data(); }
uint8_t* Batch::truncated() { auto lock = enter("truncated"); return out().truncated.data(); }
int32_t* Batch::episode_step() { auto lock = enter("episode_step"); return out().episode_step.data(); }
uint8_t* Batch::has_final() { auto lock = enter("has_final"); return out().has_final.data(); }
uint8_t* Batch::final_frames() { auto lock = enter("final_frames"); return out().final_frames.data(); }
float* Batch::final_full_state() { auto lock = enter("final_full_state"); return out().final_full_state.data(); }
float* Batch::final_proprio() { auto lock = enter("final_proprio"); return out().final_proprio.data(); }

template <class Fn>
void Batch::for_each_env(const uint8_t* mask, Fn&& fn) {
  pool_->parallel_for(num_envs_, [&](int i) {
    if (mask == nullptr || mask[i] != 0) fn(i);
  });
}

void Batch::write_observation(int i) {
  World& w = *worlds_[i];
  Buffers& o = out();
  w.write_state(o.full_state.data() + static_cast<size_t>(i) * state_size(),
                o.proprio.data() + static_cast<size_t>(i) * proprio_size());
  if (frames_enabled_) w.render(o.frames.data() + static_cast<size_t>(i) * frame_bytes());
  o.episode_step[i] = w.episode_step;
}

void Batch::keep_final_observation(int i) {
  Buffers& o = out();
  const size_t f = static_cast<size_t>(i) * frame_bytes();
  const size_t s = static_cast<size_t>(i) * state_size();
  const size_t p = static_cast<size_t>(i) * proprio_size();
  std::memcpy(o.final_frames.data() + f, o.frames.data() + f, frame_bytes());
  std::memcpy(o.final_full_state.data() + s, o.full_state.data() + s, sizeof(float) * state_size());
  std::memcpy(o.final_proprio.data() + p, o.proprio.data() + p, sizeof(float) * proprio_size());
  o.has_final[i] = 1;
}

void Batch::reset_envs(const uint8_t* mask) {
  Buffers& o = out();
  for_each_env(mask, [&](int i) {
    worlds_[i]->reset_random();
    needs_reset_[i] = o.terminated[i] = o.truncated[i] = o.has_final[i] = 0;
    o.reward[i] = 0.0f;
    write_observation(i);
  });
}

void Batch::reset(const uint8_t* mask) {
  auto lock = enter("reset");
  require_idle("reset");
  guard("reset", [&] { reset_envs(mask); });
}

void Batch::reset(uint64_t seed, const uint8_t* mask) {
  auto lock = enter("reset");
  require_idle("reset");
  for_each_env(mask, [&](int i) { worlds_[i]->seed(seed + static_cast<uint64_t>(i)); });
  guard("reset", [&] { reset_envs(mask); });
}

void Batch::reset_to_state(const float* full_state, const uint8_t* mask) {
  auto lock = enter("reset_to_state");
  require_idle("reset_to_state");
  const size_t d = state_size();
  for (int i = 0; i < num_envs_; ++i)
    if (mask == nullptr || mask[i] != 0) check_state_row(layout_, def_, full_state + i * d, i);
  Buffers& o = out();
  auto reset_env = [&](int i) {
    const float* row = full_state + i * d;
    worlds_[i]->reset_to_state(row);
    needs_reset_[i] = o.terminated[i] = o.truncated[i] = o.has_final[i] = 0;
    o.reward[i] = 0.0f;
    write_observation(i);
    // The state a caller gave is its observation, bit for bit.
    std::memcpy(o.full_state.data() + i * d, row, sizeof(float) * d);
    float* proprio = o.proprio.data() + static_cast<size_t>(i) * proprio_size();
    for (size_t k = 0; k < layout_.proprio.size(); ++k) proprio[k] = row[layout_.proprio[k]];
  };
  guard("reset_to_state", [&] { for_each_env(mask, reset_env); });
}

void Batch::edit(int env, const Edit& e) {
  auto lock = enter("edit");
  require_idle("edit");
  if (env < 0 || env >= num_envs_)
    throw Error("edit: env must be in [0, " + std::to_string(num_envs_ - 1) + "], got " + std::to_string(env));
  if (needs_reset_[env])
    throw Error("edit: env " + std::to_string(env) +
                " has ended its episode; its next step (or reset) starts a new one, which would undo the edit");
  check_edit(e, layout_, def_);
  guard("edit", [&] {
    worlds_[env]->edit(e);
    write_observation(env);
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
  Buffers& o = out();
  o.has_final[i] = 0;
  o.reward[i] = 0.0f;
  if (needs_reset_[i]) {  // NextStep: this step only resets; its action is ignored
    w.reset_random();
    needs_reset_[i] = o.terminated[i] = o.truncated[i] = 0;
    write_observation(i);
    return;
  }
  w.apply_action(action);
  w.step_physics();
  o.terminated[i] = 0;
  o.truncated[i] = w.episode_step >= def_.ep_len;
  write_observation(i);
  if (!o.truncated[i] && !o.terminated[i]) return;
  if (autoreset_ == AutoresetMode::SameStep) {
    keep_final_observation(i);
    w.reset_random();
    write_observation(i);
  } else {
    needs_reset_[i] = 1;
  }
}

void Batch::step(const float* actions) {
  auto lock = enter("step");
  require_idle("step");
  const size_t a = action_size();
  for (int i = 0; i < num_envs_; ++i) check_action(i, actions + i * a);
  guard("step", [&] { pool_->parallel_for(num_envs_, [&](int i) { step_env(i, actions + i * a); }); });
}

void Batch::send(const float* actions, const int32_t* envs, int count) {
  auto lock = enter("send");
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
  // Started before any env is marked in flight, so a thread that cannot start changes nothing.
  if (!async_)
    async_ = std::make_unique<AsyncSteps>(num_threads_, [this](int i) {
      step_env(i, async_actions_.data() + static_cast<size_t>(i) * action_size());
    });
  // Actions are copied, so the caller may reuse its buffer at once.
  for (int k = 0; k < count; ++k) {
    std::copy(actions + k * a, actions + (k + 1) * a, async_actions_.begin() + ids[k] * a);
    in_flight_[ids[k]] = 1;
  }
  async_->post(ids);
}

int Batch::recv(int32_t* envs_out, int batch_size) {
  auto lock = enter("recv");
  if (!async_) return 0;
  const std::vector<int> done = async_->take(batch_size);
  for (size_t k = 0; k < done.size(); ++k) {
    envs_out[k] = done[k];
    in_flight_[done[k]] = 0;
  }
  // A step that threw (out of memory) has finished too; the batch is unusable from here.
  if (std::exception_ptr error = async_->take_error()) guard("recv", [&] { std::rethrow_exception(error); });
  return static_cast<int>(done.size());
}

int Batch::in_flight() const {
  auto lock = enter("in_flight");
  return async_ ? async_->outstanding() : 0;
}

bool Batch::frames_enabled() const {
  auto lock = enter("frames_enabled");
  return frames_enabled_;
}

void Batch::set_frames_enabled(bool on) {
  auto lock = enter("frames_enabled");
  require_idle("set_frames_enabled");
  frames_enabled_ = on;
  Buffers& o = out();
  if (!on) {
    std::fill(o.frames.begin(), o.frames.end(), 0);
    std::fill(o.final_frames.begin(), o.final_frames.end(), 0);
  } else {
    guard("frames_enabled", [&] {
      pool_->parallel_for(num_envs_, [&](int i) {
        worlds_[i]->render(o.frames.data() + static_cast<size_t>(i) * frame_bytes());
      });
    });
  }
}

void Batch::check_render_locked(int env, int rows, int cols) const {
  if (env < 0 || env >= num_envs_)
    throw Error("env index " + std::to_string(env) + " is outside [0, " + std::to_string(num_envs_) + ")");
  if (rows < 1 || cols < 1 || rows > 16384 || cols > 16384)
    throw Error("render size must be in [1, 16384] on each side, got " + std::to_string(rows) + " x " +
                std::to_string(cols));
  if (in_flight_[env]) throw Error("render_rgb: env " + std::to_string(env) + " is stepping; recv it first");
}

void Batch::check_render(int env, int rows, int cols) const {
  auto lock = enter("render_rgb");
  check_render_locked(env, rows, cols);
}

void Batch::render_rgb(int env, int rows, int cols, uint8_t* out) {
  auto lock = enter("render_rgb");
  check_render_locked(env, rows, cols);
  worlds_[env]->render_rgb(rows, cols, out);
}

}  // namespace boxlcd
