// A batch of independent worlds of one definition, stepped together on a thread pool.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

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
class Batch {
 public:
  // num_threads: 0 means all cores, 1 runs in the caller's thread.
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
  bool frames_enabled() const { return frames_enabled_; }

  // An RGB picture (rows x cols x 3) of one env at any size, for viewing.
  void render_rgb(int env, int rows, int cols, uint8_t* out);

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

  uint8_t* frames() { return frames_.data(); }
  float* full_state() { return full_state_.data(); }
  float* proprio() { return proprio_.data(); }
  float* reward() { return reward_.data(); }
  uint8_t* terminated() { return terminated_.data(); }
  uint8_t* truncated() { return truncated_.data(); }
  int32_t* episode_step() { return episode_step_.data(); }
  uint8_t* has_final() { return has_final_.data(); }
  uint8_t* final_frames() { return final_frames_.data(); }
  float* final_full_state() { return final_full_state_.data(); }
  float* final_proprio() { return final_proprio_.data(); }

 private:
  void write_observation(int env);
  void step_env(int env, const float* action);
  void check_action(int env, const float* action) const;
  void require_idle(const char* what) const;
  void keep_final_observation(int env);
  template <class Fn>
  void for_each_env(const uint8_t* mask, Fn&& fn);

  WorldDef def_;
  Layout layout_;
  int num_envs_;
  int num_threads_;
  AutoresetMode autoreset_;
  bool frames_enabled_ = true;
  std::vector<std::unique_ptr<World>> worlds_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<AsyncSteps> async_;  // started by the first send()
  std::vector<float> async_actions_;
  std::vector<uint8_t> in_flight_;
  std::vector<uint8_t> frames_, terminated_, truncated_, has_final_, final_frames_;
  std::vector<uint8_t> needs_reset_;
  std::vector<float> full_state_, proprio_, reward_, final_full_state_, final_proprio_;
  std::vector<int32_t> episode_step_;
};

// Rough bytes one env of this definition costs (world, bodies and output buffers).
size_t bytes_per_env(const WorldDef& def);

}  // namespace boxlcd
