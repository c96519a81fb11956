#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "boxlcd/boxlcd.hpp"

namespace {

std::vector<float> random_actions(int n, int a, uint64_t seed) {
  boxlcd::Rng rng(seed);
  std::vector<float> out(static_cast<size_t>(n) * a);
  for (float& v : out) v = static_cast<float>(rng.uniform(-1.0, 1.0));
  return out;
}

struct Trace {
  std::vector<uint8_t> frames;
  std::vector<float> states;
  std::vector<int32_t> steps;
};

// Frames, states and episode steps of the reset and `steps` steps, concatenated.
Trace run(boxlcd::Batch& b, int steps, uint64_t action_seed) {
  Trace out;
  auto record = [&] {
    out.frames.insert(out.frames.end(), b.frames(), b.frames() + b.num_envs() * b.frame_bytes());
    out.states.insert(out.states.end(), b.full_state(), b.full_state() + b.num_envs() * b.state_size());
    out.steps.insert(out.steps.end(), b.episode_step(), b.episode_step() + b.num_envs());
  };
  record();
  for (int t = 0; t < steps; ++t) {
    const auto a = random_actions(b.num_envs(), b.action_size(), action_seed + t);
    b.step(a.data());
    record();
  }
  return out;
}

std::vector<float> state_row(boxlcd::Batch& b, int i) {
  return {b.full_state() + i * b.state_size(), b.full_state() + (i + 1) * b.state_size()};
}

// Metres from a normalised y:p value of a 5 m high world.
double metres_y(float v) { return (v + 1.0) / 2.0 * 5.0; }

// ---- determinism ----

TEST(Determinism, SameSeedSameBytesForAnyThreadCount) {
  // Object3 runs past its ep_len of 50, so the autoreset draws are covered too.
  for (const char* name : {"Urchin", "Object3", "CrabCube"}) {
    SCOPED_TRACE(name);
    boxlcd::Batch one(boxlcd::env_def(name), 10, 1, 42);
    boxlcd::Batch two(boxlcd::env_def(name), 10, 2, 42);
    boxlcd::Batch three(boxlcd::env_def(name), 10, 3, 42);
    EXPECT_EQ(two.num_threads(), 2);
    const Trace a = run(one, 60, 7), b = run(two, 60, 7), c = run(three, 60, 7);
    EXPECT_EQ(a.frames, b.frames);
    EXPECT_EQ(a.states, b.states);
    EXPECT_EQ(a.steps, b.steps);
    EXPECT_EQ(a.frames, c.frames);
    EXPECT_EQ(a.states, c.states);
  }
}

TEST(Determinism, BatchOfEightEqualsEightSingleEnvsSeededSeedPlusI) {
  for (const char* name : {"Luxo", "Object2"}) {
    SCOPED_TRACE(name);
    constexpr int n = 8, steps = 60;
    constexpr uint64_t seed = 100;
    boxlcd::Batch batch(boxlcd::env_def(name), n, 2, seed);
    const int a = batch.action_size(), d = batch.state_size(), fb = batch.frame_bytes();
    std::vector<std::vector<float>> states(n);
    std::vector<std::vector<uint8_t>> frames(n);
    auto record_batch = [&] {
      for (int i = 0; i < n; ++i) {
        states[i].insert(states[i].end(), batch.full_state() + i * d, batch.full_state() + (i + 1) * d);
        frames[i].insert(frames[i].end(), batch.frames() + i * fb, batch.frames() + (i + 1) * fb);
      }
    };
    record_batch();
    for (int t = 0; t < steps; ++t) {
      const auto act = random_actions(n, a, 1000 + t);
      batch.step(act.data());
      record_batch();
    }
    for (int i = 0; i < n; ++i) {
      boxlcd::Batch single(boxlcd::env_def(name), 1, 1, seed + i);
      std::vector<float> s(single.full_state(), single.full_state() + d);
      std::vector<uint8_t> f(single.frames(), single.frames() + fb);
      for (int t = 0; t < steps; ++t) {
        const auto act = random_actions(n, a, 1000 + t);
        single.step(act.data() + i * a);  // env i's row of the batch's actions
        s.insert(s.end(), single.full_state(), single.full_state() + d);
        f.insert(f.end(), single.frames(), single.frames() + fb);
      }
      EXPECT_EQ(s, states[i]) << "env " << i;
      EXPECT_EQ(f, frames[i]) << "env " << i;
    }
  }
}

TEST(Determinism, DifferentSeedsDiffer) {
  for (const char* name : {"Bounce", "Urchin"}) {
    SCOPED_TRACE(name);
    boxlcd::Batch a(boxlcd::env_def(name), 4, 1, 1), b(boxlcd::env_def(name), 4, 1, 2);
    const Trace ta = run(a, 10, 3), tb = run(b, 10, 3);
    // Every env starts somewhere else, and the frames differ.
    const int d = a.state_size();
    for (int i = 0; i < 4; ++i)
      EXPECT_NE(std::vector<float>(ta.states.begin() + i * d, ta.states.begin() + (i + 1) * d),
                std::vector<float>(tb.states.begin() + i * d, tb.states.begin() + (i + 1) * d))
          << "env " << i;
    EXPECT_NE(ta.frames, tb.frames);
  }
  // Envs of one batch differ from each other too (seed + i).
  boxlcd::Batch c(boxlcd::env_def("Bounce"), 2, 1, 9);
  EXPECT_NE(state_row(c, 0), state_row(c, 1));
}

// Each reset builds a fresh b2World: reusing one carried its broad-phase tree, and so the
// order of contacts, from episode to episode, and this episode drifted (UrchinCube, 2e-7
// two steps in) once the robot touched the cube.
TEST(Determinism, ResetWithTheSameSeedRepeatsTheEpisode) {
  boxlcd::Batch a(boxlcd::env_def("UrchinCube"), 3, 2, 5);
  const Trace first = run(a, 20, 8);
  a.reset(5);
  const Trace again = run(a, 20, 8);
  ASSERT_EQ(first.states.size(), again.states.size());
  const int per_step = 3 * a.state_size();
  for (size_t k = 0; k < first.states.size(); ++k)
    if (first.states[k] != again.states[k]) {
      ADD_FAILURE() << "episode after reset(5) drifts at step " << k / per_step << ", env "
                    << (k % per_step) / a.state_size() << ", key " << a.layout().state[k % a.state_size()].key
                    << ": " << first.states[k] << " vs " << again.states[k];
      break;
    }
  EXPECT_EQ(first.frames == again.frames, true);
  // Without a seed, reset continues the generator: a new start.
  a.reset();
  EXPECT_NE(std::vector<float>(a.full_state(), a.full_state() + 3 * a.state_size()),
            std::vector<float>(first.states.begin(), first.states.begin() + 3 * a.state_size()));
}

// ---- physics against the spec's reference behaviour ----

TEST(Physics, DropboxBoxFallsAndRestsNearSevenTenthsOfAMetre) {
  constexpr int n = 64;
  boxlcd::Batch b(boxlcd::env_def("Dropbox"), n, 2, 0);
  std::vector<float> zero(n, 0.0f);
  // Keys: object0:cos, object0:sin, object0:x:p, object0:y:p.
  double start = 0.0;
  for (int i = 0; i < n; ++i) start += metres_y(b.full_state()[i * 4 + 3]) / n;
  EXPECT_NEAR(start, 2.54, 0.4);  // uniform in [0.7, 4.3]
  for (int t = 0; t < 20; ++t) b.step(zero.data());
  std::vector<double> y20(n);
  for (int i = 0; i < n; ++i) y20[i] = metres_y(b.full_state()[i * 4 + 3]);
  for (int t = 20; t < 24; ++t) b.step(zero.data());
  double mean = 0.0;
  int resting = 0;
  for (int i = 0; i < n; ++i) {
    const double y = metres_y(b.full_state()[i * 4 + 3]);
    EXPECT_GT(y, 0.69) << "env " << i << " sank into the floor";
    EXPECT_LT(y, 1.3) << "env " << i << " has not come down";  // a box on its corner: 0.7 x sqrt 2
    // A box that lands on a corner may still be toppling; most lie flat and still.
    resting += std::abs(y - y20[i]) < 0.01 && y < 0.75;
    mean += y / n;
  }
  EXPECT_GE(resting, n * 3 / 4);
  EXPECT_NEAR(mean, 0.72, 0.05);
}

TEST(Physics, BounceBallDroppedFromFourMetresRebounds) {
  boxlcd::Batch b(boxlcd::env_def("Bounce"), 1);
  const float state[4] = {1.0f, 0.0f, 0.0f, static_cast<float>(2 * 4.0 / 5 - 1)};  // (2.5, 4.0) m
  b.reset_to_state(state);
  std::vector<double> y{metres_y(b.full_state()[3])};
  const float zero = 0.0f;
  for (int t = 0; t < 25; ++t) {
    b.step(&zero);
    y.push_back(metres_y(b.full_state()[3]));
  }
  // Falls 3.5 m in about 0.85 s, leaves the floor at 0.8 x 8.3 m/s and climbs about 2.2 m.
  const auto low = std::min_element(y.begin(), y.begin() + 12);
  EXPECT_LT(*low, 1.0);
  EXPECT_GE(*low, 0.49);
  const int t_low = static_cast<int>(low - y.begin());
  EXPECT_GE(t_low, 7);
  EXPECT_LE(t_low, 10);
  const double peak = *std::max_element(low, y.end());
  EXPECT_GT(peak, 2.2) << "the ball did not rebound";
  EXPECT_LT(peak, 3.3) << "restitution 0.8 loses a third of the height";
  for (int t = 1; t <= t_low - 1; ++t) EXPECT_LT(y[t], y[t - 1]) << "still falling at step " << t;
}

TEST(Physics, BounceMeanHeightFallsThenRisesAgain) {
  // The spec: the mean height peaks again near 1.59 m around step 13.
  constexpr int n = 64;
  boxlcd::Batch b(boxlcd::env_def("Bounce"), n, 2, 0);
  std::vector<float> zero(n, 0.0f);
  std::vector<double> mean;
  for (int t = 0; t <= 25; ++t) {
    if (t > 0) b.step(zero.data());
    double m = 0.0;
    for (int i = 0; i < n; ++i) m += metres_y(b.full_state()[i * 4 + 3]) / n;
    mean.push_back(m);
  }
  const auto low = std::min_element(mean.begin(), mean.begin() + 10);
  EXPECT_LT(*low, mean[0] - 0.8);
  const auto peak = std::max_element(low, mean.end());
  EXPECT_GT(*peak, *low + 0.3);
  EXPECT_NEAR(*peak, 1.59, 0.35);
  EXPECT_NEAR(peak - mean.begin(), 13, 3);
}

// ---- autoreset ----

TEST(Autoreset, NextStepTruncatesAtEpLenThenResetsOnTheNextStep) {
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  def.ep_len = 3;
  boxlcd::Batch b(def, 2, 1, 0, boxlcd::AutoresetMode::NextStep);
  std::vector<float> zero(2, 0.0f);
  for (int t = 1; t <= 3; ++t) {
    b.step(zero.data());
    EXPECT_EQ(b.episode_step()[0], t);
    EXPECT_EQ(b.episode_step()[1], t);
    EXPECT_EQ(b.truncated()[0], t == 3);
    EXPECT_EQ(b.terminated()[0], 0);
    EXPECT_EQ(b.reward()[0], 0.0f);
    EXPECT_EQ(b.has_final()[0], 0);
  }
  ASSERT_TRUE(b.truncated()[0] && b.truncated()[1]);
  const auto last = state_row(b, 0);
  b.step(zero.data());
  EXPECT_EQ(b.episode_step()[0], 0);
  EXPECT_EQ(b.episode_step()[1], 0);
  EXPECT_FALSE(b.truncated()[0] || b.truncated()[1]);
  EXPECT_NE(state_row(b, 0), last) << "a new episode starts elsewhere";
  b.step(zero.data());
  EXPECT_EQ(b.episode_step()[0], 1);
}

TEST(Autoreset, SameStepKeepsTheFinalObservationAndStartsAFreshEpisode) {
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  def.ep_len = 3;
  boxlcd::Batch same(def, 2, 1, 5, boxlcd::AutoresetMode::SameStep);
  boxlcd::Batch next(def, 2, 1, 5, boxlcd::AutoresetMode::NextStep);
  std::vector<float> zero(2, 0.0f);
  for (int t = 0; t < 2; ++t) {
    same.step(zero.data());
    next.step(zero.data());
    EXPECT_FALSE(same.has_final()[0] || same.has_final()[1]);
  }
  same.step(zero.data());
  next.step(zero.data());  // the last step of the episode: next's main buffers hold its end
  EXPECT_TRUE(same.has_final()[0] && same.has_final()[1]);
  EXPECT_TRUE(same.truncated()[0] && same.truncated()[1]);
  EXPECT_EQ(std::memcmp(same.final_full_state(), next.full_state(), 2 * 4 * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(same.final_frames(), next.frames(), 2 * same.frame_bytes()), 0);
  EXPECT_EQ(std::memcmp(same.final_proprio(), next.proprio(), 2 * sizeof(float)), 0);
  // SameStep's main buffers already hold the reset that next-step mode makes one step later.
  EXPECT_EQ(same.episode_step()[0], 0);
  EXPECT_EQ(same.episode_step()[1], 0);
  next.step(zero.data());
  EXPECT_EQ(std::memcmp(same.full_state(), next.full_state(), 2 * 4 * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(same.frames(), next.frames(), 2 * same.frame_bytes()), 0);
  EXPECT_NE(std::memcmp(same.full_state(), same.final_full_state(), 4 * sizeof(float)), 0);
  // The next step clears has_final and goes on with the new episode.
  same.step(zero.data());
  EXPECT_FALSE(same.has_final()[0] || same.has_final()[1]);
  EXPECT_EQ(same.episode_step()[0], 1);
}

TEST(Autoreset, SameStepMarksOnlyTheEnvsThatEnded) {
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  def.ep_len = 3;
  boxlcd::Batch b(def, 2, 1, 5, boxlcd::AutoresetMode::SameStep);
  std::vector<float> zero(2, 0.0f);
  b.step(zero.data());
  const uint8_t first[2] = {1, 0};
  b.reset(first);  // env 0 starts over, one step behind env 1
  b.step(zero.data());
  std::vector<float> before_end = state_row(b, 0);
  b.step(zero.data());
  EXPECT_EQ(b.has_final()[0], 0);
  EXPECT_EQ(b.has_final()[1], 1);
  EXPECT_EQ(b.episode_step()[0], 2);
  EXPECT_EQ(b.episode_step()[1], 0);
  EXPECT_NE(state_row(b, 0), before_end);  // env 0 kept stepping
}

TEST(Autoreset, DisabledRefusesEndedEnvsUntilTheyAreResetWithAMask) {
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  def.ep_len = 2;
  boxlcd::Batch b(def, 2, 1, 0, boxlcd::AutoresetMode::Disabled);
  std::vector<float> zero(2, 0.0f);
  b.step(zero.data());
  const uint8_t only0[2] = {1, 0}, only1[2] = {0, 1};
  b.reset(only0);
  b.step(zero.data());  // env 1 ends here, env 0 is at step 1
  ASSERT_TRUE(b.truncated()[1]);
  ASSERT_FALSE(b.truncated()[0]);
  EXPECT_EQ(b.episode_step()[1], 2);
  const auto frozen = state_row(b, 0);
  EXPECT_THROW(b.step(zero.data()), boxlcd::Error);
  EXPECT_THROW(b.step(zero.data()), boxlcd::Error);  // still, however often it is asked
  EXPECT_EQ(b.episode_step()[0], 1) << "a refused step must not step the other envs";
  EXPECT_EQ(state_row(b, 0), frozen);
  b.reset(only0);  // the wrong env
  EXPECT_THROW(b.step(zero.data()), boxlcd::Error);
  b.reset(only1);
  EXPECT_EQ(b.episode_step()[1], 0);
  EXPECT_FALSE(b.truncated()[1]);
  EXPECT_NO_THROW(b.step(zero.data()));
  EXPECT_EQ(b.episode_step()[0], 1);
  EXPECT_EQ(b.episode_step()[1], 1);
}

// ---- reset to a given state ----

TEST(ResetToState, RoundTripsExactlyAndASettledUrchinLiesStill) {
  constexpr int n = 8;  // random root angles: some legs' angles wrap past pi
  boxlcd::Batch settle(boxlcd::env_def("Urchin"), n, 1, 9);
  std::vector<float> zero(n * 3, 0.0f);
  for (int t = 0; t < 40; ++t) settle.step(zero.data());
  std::vector<float> state(settle.full_state(), settle.full_state() + n * 16);
  boxlcd::Batch b(boxlcd::env_def("Urchin"), n, 2, 77);
  b.reset_to_state(state.data());
  EXPECT_EQ(std::vector<float>(b.full_state(), b.full_state() + n * 16), state);
  EXPECT_EQ(std::vector<float>(b.proprio(), b.proprio() + n * 16), state);  // Urchin: all robot
  for (int i = 0; i < n; ++i) EXPECT_EQ(b.episode_step()[i], 0);
  b.step(zero.data());
  for (int k = 0; k < n * 16; ++k) EXPECT_NEAR(b.full_state()[k], state[k], 0.02) << k;
  b.step(zero.data());
  for (int k = 0; k < n * 16; ++k) EXPECT_NEAR(b.full_state()[k], state[k], 0.05) << k;
}

TEST(ResetToState, OnlyMaskedEnvsMove) {
  boxlcd::Batch b(boxlcd::env_def("LuxoCube"), 2, 1, 3);
  const auto keep = state_row(b, 1);
  std::vector<float> target(2 * b.state_size());
  boxlcd::Batch other(boxlcd::env_def("LuxoCube"), 2, 1, 50);
  std::copy(other.full_state(), other.full_state() + target.size(), target.begin());
  const uint8_t mask[2] = {1, 0};
  b.reset_to_state(target.data(), mask);
  EXPECT_EQ(state_row(b, 0), state_row(other, 0));
  EXPECT_EQ(state_row(b, 1), keep);
}

// Urchin keys: {aleg,bleg,cleg,root} x {cos, sin, x:p, y:p}.
std::vector<float> urchin_pose(double root_angle, double x, double y) {
  const double joint[3] = {0.0, 2.0, 4.2}, leg = 20.0 / 30.0, w = 10.0, h = 5.0;
  std::vector<float> s;
  auto put = [&](double angle, double px, double py) {
    for (double v : {std::cos(angle), std::sin(angle), 2 * px / w - 1, 2 * py / h - 1})
      s.push_back(static_cast<float>(v));
  };
  for (double j : joint) {
    const double a = root_angle + j;
    // Anchor (0, 20/30) on the leg meets the root centre.
    put(a, x + std::sin(a) * leg, y - std::cos(a) * leg);
  }
  put(root_angle, x, y);
  return s;
}

TEST(ResetToState, LimbAnglesPastPiDoNotJumpAFullTurn) {
  // Without gravity an exactly assembled urchin at rest must stay put. Root angles near +-pi
  // put leg angles past pi, where atan2 wraps them by 2 pi; a joint built from the wrapped
  // angle would sit a full turn outside its [-1, 1] limit and be yanked back.
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  boxlcd::apply_override(def, "gravity_y", 0.0);
  for (double root : {3.0, -3.0, 2.5, -0.5}) {
    SCOPED_TRACE(root);
    boxlcd::Batch b(def, 1);
    const auto s = urchin_pose(root, 5.0, 2.5);
    b.reset_to_state(s.data());
    const float zero[3] = {0, 0, 0};
    for (int t = 0; t < 5; ++t) b.step(zero);
    for (int k = 0; k < 16; ++k) EXPECT_NEAR(b.full_state()[k], s[k], 1e-3) << k;
  }
}

// ---- bad input ----

TEST(BadInput, NonFiniteActionThrowsBeforeAnythingChanges) {
  boxlcd::Batch b(boxlcd::env_def("Urchin"), 2, 1, 0);
  const std::vector<float> before(b.full_state(), b.full_state() + 32);
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    std::vector<float> a(6, 0.5f);
    a[4] = bad;  // env 1 only: env 0 must not be stepped either
    EXPECT_THROW(b.step(a.data()), boxlcd::Error);
    EXPECT_EQ(b.episode_step()[0], 0);
    EXPECT_EQ(b.episode_step()[1], 0);
    EXPECT_EQ(std::vector<float>(b.full_state(), b.full_state() + 32), before);
  }
  std::vector<float> ok(6, 2.0f);  // out of range is clipped, not an error
  EXPECT_NO_THROW(b.step(ok.data()));
}

TEST(BadInput, NonFiniteStateThrows) {
  boxlcd::Batch b(boxlcd::env_def("Dropbox"), 1);
  const float s[4] = {1.0f, 0.0f, std::nanf(""), 0.0f};
  EXPECT_THROW(b.reset_to_state(s), boxlcd::Error);
}

// Reset states stay inside the observation space: [-1, 1], or positions within the floor's
// overhang without walls.
TEST(BadInput, StateOutsideTheObservationSpaceThrows) {
  boxlcd::Batch b(boxlcd::env_def("Dropbox"), 1);
  const float huge[4] = {0.0f, 0.0f, 1e37f, 0.0f};
  EXPECT_THROW(b.reset_to_state(huge), boxlcd::Error);
  const float five[4] = {0.0f, 0.0f, 5.0f, 0.0f};
  EXPECT_THROW(b.reset_to_state(five), boxlcd::Error);
  boxlcd::WorldDef open = boxlcd::env_def("Dropbox");
  open.walls = false;
  boxlcd::Batch o(open, 1);
  EXPECT_NO_THROW(o.reset_to_state(five));  // object0:x:p, 10 m right of the world: on the floor
  EXPECT_EQ(o.full_state()[2], 5.0f);
  const float cos5[4] = {5.0f, 0.0f, 0.0f, 0.0f};
  EXPECT_THROW(o.reset_to_state(cos5), boxlcd::Error);
}

TEST(BadInput, BatchSizesThrow) {
  EXPECT_THROW(boxlcd::Batch(boxlcd::env_def("Urchin"), 0), boxlcd::Error);
  EXPECT_THROW(boxlcd::Batch(boxlcd::env_def("Urchin"), -1), boxlcd::Error);
  EXPECT_THROW(boxlcd::Batch(boxlcd::env_def("Urchin"), 1, -1), boxlcd::Error);
  boxlcd::Batch b(boxlcd::env_def("Urchin"), 2, 16);
  EXPECT_EQ(b.num_threads(), 2) << "no more threads than envs";
  std::vector<uint8_t> rgb(10 * 10 * 3);
  EXPECT_THROW(b.render_rgb(2, 10, 10, rgb.data()), boxlcd::Error);
  EXPECT_THROW(b.render_rgb(0, 0, 10, rgb.data()), boxlcd::Error);
}

// ---- asynchronous stepping ----

TEST(Async, SendRecvMatchesStep) {
  boxlcd::Batch sync(boxlcd::env_def("UrchinCube"), 6, 2, 3), async(boxlcd::env_def("UrchinCube"), 6, 2, 3);
  for (int t = 0; t < 20; ++t) {
    const auto a = random_actions(6, 3, t);
    sync.step(a.data());
    async.send(a.data(), nullptr, 6);
    std::vector<int32_t> ids(6);
    ASSERT_EQ(async.recv(ids.data(), 6), 6);
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(std::memcmp(sync.full_state(), async.full_state(), 6 * 20 * sizeof(float)), 0);
    EXPECT_EQ(std::memcmp(sync.frames(), async.frames(), 6 * sync.frame_bytes()), 0);
  }
  EXPECT_EQ(async.in_flight(), 0);
}

TEST(Async, StepRefusedWhileEnvsAreInFlight) {
  boxlcd::Batch b(boxlcd::env_def("Urchin"), 2, 1, 0);
  const std::vector<float> a(6, 0.0f);
  const int32_t env1 = 1;
  b.send(a.data(), &env1, 1);
  EXPECT_THROW(b.send(a.data(), &env1, 1), boxlcd::Error);
  std::vector<float> all(6, 0.0f);
  EXPECT_THROW(b.step(all.data()), boxlcd::Error);
  int32_t got = -1;
  ASSERT_EQ(b.recv(&got, 1), 1);
  EXPECT_EQ(got, 1);
  EXPECT_EQ(b.episode_step()[1], 1);
  EXPECT_EQ(b.episode_step()[0], 0);
  EXPECT_NO_THROW(b.step(all.data()));
}

}  // namespace
