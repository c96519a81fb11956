// A batch of independent worlds of one definition, stepped together on a thread pool.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "boxlcd/edit.hpp"
#include "boxlcd/layout.hpp"
#include "boxlcd/world_def.hpp"

namespace boxlcd {

class World;
class ThreadPool;
class AsyncSteps;

// Outputs live in buffers the batch owns; every reset and step rewrites them in place,
// so callers copy what they want to keep. Shapes: frames (N, rows, row_bytes), full_state
// (N, D), proprio (N, P), reward / terminated / truncated / episode_step / has_final (N).
// In SameStep mode the final_* buffers hold the last observation of each env whose episode
// ended in the latest step (has_final[i] == 1); the main buffers then hold its reset.
//
// Threads: calls on one batch from several threads are serialised (each waits for the one
// running); separate batches run in parallel. fork(): the batch works in the child too (its
// threads are restarted there on first use); a fork waits for a call running on it to finish.
//
// Memory: a call that runs out of memory while it steps, resets or edits worlds (Box2D's
// allocations included, with the Box2D built from source) throws OutOfMemory once every env it
// started has finished. Its worlds may then be half stepped, so the batch is unusable: every
// later call but close() throws StateError. Other batches are not affected.
class Batch {
 public:
  // num_threads: 0 means all cores, 1 runs in the caller's thread. Throws Error for bad
  // arguments, OutOfMemory when the worlds cannot fit in this process's address space and
  // std::runtime_error when a thread cannot be started; nothing is left running then.
  Batch(WorldDef def, int num_envs, int num_threads = 1, uint64_t seed = 0,
        AutoresetMode autoreset = AutoresetMode::NextStep);
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Resets the envs where mask[i] != 0 (all when mask is null). With a seed, env i is
  // reseeded with seed + i; without, it continues its own generator.
  void reset(const uint8_t* mask = nullptr);
  void reset(uint64_t seed, const uint8_t* mask = nullptr);
  // Places the masked envs at full_state rows (N x D, spec normalisation), zero velocity;
  // joints are built in that pose. Their reset observation is the given state itself.
  void reset_to_state(const float* full_state, const uint8_t* mask = nullptr);
  // actions: N x A, clipped to [-1, 1]; NaN or inf throws before anything changes.
  void step(const float* actions);
  // Applies an edit (edit.hpp) to one env now and rewrites its observation; the next step
  // simulates from the edited world and its next reset undoes the edit. Throws Error, changing
  // nothing, for a bad edit or an env whose ended episode waits for its reset.
  void edit(int env, const Edit& edit);

  // Asynchronous stepping (EnvPool style), so a policy can run while envs step.
  // send() copies the actions (count x A; row k for env envs[k], or env k when envs is null),
  // starts stepping those envs on background threads and returns at once. recv() waits until
  // min(batch_size, in flight) of them have finished, writes their ids (in finishing order)
  // and returns how many; their output rows are then final until they are sent again.
  // Rows of envs still in flight are being written: read only the ids recv returned.
  // step/reset/reset_to_state throw while envs are in flight.
  void send(const float* actions, const int32_t* envs, int count);
  int recv(int32_t* envs_out, int batch_size);
  int in_flight() const;

  // Frames off: the frame buffers are zeroed and steps write state only (for state-only
  // training, and to measure the rasterizer's share).
  void set_frames_enabled(bool on);
  bool frames_enabled() const;

  // An RGB picture (rows x cols x 3) of one env at any size, for viewing.
  void render_rgb(int env, int rows, int cols, uint8_t* out);
  // Throws what render_rgb would for these arguments (so callers can check before allocating).
  void check_render(int env, int rows, int cols) const;

  // Stops the threads and frees the worlds and buffers (buffers once no buffer_owner() holds
  // them). Every later call but close() and the sizes below throws StateError. Idempotent.
  void close();
  bool closed() const;
  // Shares ownership of the output buffers, so views of them may outlive close().
  std::shared_ptr<void> buffer_owner() const;

  const WorldDef& def() const { return def_; }
  const Layout& layout() const { return layout_; }
  int num_envs() const { return num_envs_; }
  int num_threads() const { return num_threads_; }
  AutoresetMode autoreset() const { return autoreset_; }
  int frame_rows() const { return def_.frame_rows(); }
  int frame_cols() const { return def_.frame_cols(); }
  int frame_row_bytes() const { return def_.frame_row_bytes(); }
  int frame_bytes() const { return frame_rows() * frame_row_bytes(); }
  int state_size() const { return layout_.state_size(); }
  int proprio_size() const { return layout_.proprio_size(); }
  int action_size() const { return layout_.action_size(); }

  // Output buffers (StateError once closed); they stay where they are until close().
  uint8_t* frames();
  float* full_state();
  float* proprio();
  float* reward();
  uint8_t* terminated();
  uint8_t* truncated();
  int32_t* episode_step();
  uint8_t* has_final();
  uint8_t* final_frames();
  float* final_full_state();
  float* final_proprio();

 private:
  struct Buffers;
  struct ForkHooks;
  // Takes the batch's lock for a call named what; throws StateError when closed or unusable.
  std::unique_lock<std::mutex> enter(const char* what) const;
  // Runs fn; a std::bad_alloc from it marks the batch unusable and leaves as OutOfMemory.
  template <class Fn>
  void guard(const char* what, Fn&& fn);
  Buffers& out() const;
  void reset_envs(const uint8_t* mask);
  void write_observation(int env);
  void step_env(int env, const float* action);
  void check_action(int env, const float* action) const;
  void check_render_locked(int env, int rows, int cols) const;
  void require_idle(const char* what) const;
  void keep_final_observation(int env);
  template <class Fn>
  void for_each_env(const uint8_t* mask, Fn&& fn);
  void release_threads();
  void before_fork();
  void after_fork(bool in_child);
  void adopt_after_fork();

  WorldDef def_;
  Layout layout_;
  int num_envs_;
  int num_threads_;
  AutoresetMode autoreset_;
  mutable std::mutex mutex_;  // held by every call; see "Threads" above
  bool closed_ = false;
  bool unusable_ = false;  // a call ran out of memory inside the worlds (see "Memory" above)
  bool forked_ = false;  // this is a fork's child and the threads are the parent's
  bool frames_enabled_ = true;
  std::vector<std::unique_ptr<World>> worlds_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<AsyncSteps> async_;  // started by the first send()
  std::vector<float> async_actions_;
  std::vector<uint8_t> in_flight_;
  std::vector<uint8_t> needs_reset_;
  std::shared_ptr<Buffers> buffers_;
};

// Rough bytes one env of this definition costs (world, bodies and output buffers).
size_t bytes_per_env(const WorldDef& def);

}  // namespace boxlcd
