#include <gtest/gtest.h>

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

// Frames and states of `steps` steps, concatenated.
std::pair<std::vector<uint8_t>, std::vector<float>> run(boxlcd::Batch& b, int steps, uint64_t action_seed) {
  std::vector<uint8_t> frames;
  std::vector<float> states;
  for (int t = 0; t < steps; ++t) {
    const auto a = random_actions(b.num_envs(), b.action_size(), action_seed + t);
    b.step(a.data());
    frames.insert(frames.end(), b.frames(), b.frames() + b.num_envs() * b.frame_bytes());
    states.insert(states.end(), b.full_state(), b.full_state() + b.num_envs() * b.state_size());
  }
  return {frames, states};
}

TEST(Batch, SameSeedSameBytesForAnyThreadCount) {
  for (const char* name : {"Urchin", "Object3", "CrabCube"}) {
    SCOPED_TRACE(name);
    boxlcd::Batch one(boxlcd::env_def(name), 10, 1, 42);
    boxlcd::Batch two(boxlcd::env_def(name), 10, 2, 42);
    const auto a = run(one, 60, 7), b = run(two, 60, 7);
    EXPECT_EQ(a.first, b.first);
    EXPECT_EQ(a.second, b.second);
  }
}

TEST(Batch, EnvIOfABatchIsASingleEnvSeededSeedPlusI) {
  boxlcd::Batch batch(boxlcd::env_def("Luxo"), 4, 2, 100);
  std::vector<std::vector<float>> per_env(4);
  for (int t = 0; t < 30; ++t) {
    std::vector<float> a(4 * 3);
    for (int i = 0; i < 4; ++i)
      for (int k = 0; k < 3; ++k) a[i * 3 + k] = std::sin(0.3f * t + i + k);
    batch.step(a.data());
    for (int i = 0; i < 4; ++i)
      per_env[i].insert(per_env[i].end(), batch.full_state() + i * 16, batch.full_state() + (i + 1) * 16);
  }
  for (int i = 0; i < 4; ++i) {
    boxlcd::Batch single(boxlcd::env_def("Luxo"), 1, 1, 100 + i);
    std::vector<float> states;
    for (int t = 0; t < 30; ++t) {
      std::vector<float> a(3);
      for (int k = 0; k < 3; ++k) a[k] = std::sin(0.3f * t + i + k);
      single.step(a.data());
      states.insert(states.end(), single.full_state(), single.full_state() + 16);
    }
    EXPECT_EQ(states, per_env[i]) << "env " << i;
  }
}

TEST(Batch, DifferentSeedsDiffer) {
  boxlcd::Batch a(boxlcd::env_def("Bounce"), 4, 1, 1), b(boxlcd::env_def("Bounce"), 4, 1, 2);
  EXPECT_NE(std::memcmp(a.full_state(), b.full_state(), 16 * sizeof(float)), 0);
}

TEST(Batch, DropboxBoxFallsAndRests) {
  boxlcd::Batch b(boxlcd::env_def("Dropbox"), 16, 2, 0);
  std::vector<float> zero(16, 0.0f);
  for (int t = 0; t < 24; ++t) b.step(zero.data());
  double mean = 0.0;
  for (int i = 0; i < 16; ++i) {
    const double y = (b.full_state()[i * 4 + 3] + 1.0) / 2.0 * 5.0;  // object0:y:p
    EXPECT_GT(y, 0.69);
    mean += y / 16;
  }
  EXPECT_NEAR(mean, 0.72, 0.1);
}

TEST(Batch, AutoresetNextStep) {
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  def.ep_len = 3;
  boxlcd::Batch b(def, 2, 1, 0, boxlcd::AutoresetMode::NextStep);
  std::vector<float> zero(2, 0.0f);
  for (int t = 1; t <= 3; ++t) {
    b.step(zero.data());
    EXPECT_EQ(b.episode_step()[0], t);
  }
  EXPECT_TRUE(b.truncated()[0] && b.truncated()[1]);
  b.step(zero.data());
  EXPECT_EQ(b.episode_step()[0], 0);
  EXPECT_FALSE(b.truncated()[0]);
}

TEST(Batch, AutoresetSameStepKeepsTheFinalObservation) {
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  def.ep_len = 3;
  boxlcd::Batch same(def, 2, 1, 5, boxlcd::AutoresetMode::SameStep);
  boxlcd::Batch next(def, 2, 1, 5, boxlcd::AutoresetMode::NextStep);
  std::vector<float> zero(2, 0.0f);
  for (int t = 0; t < 3; ++t) {
    same.step(zero.data());
    next.step(zero.data());
  }
  EXPECT_TRUE(same.has_final()[0] && same.has_final()[1] && same.truncated()[0]);
  EXPECT_EQ(std::memcmp(same.final_full_state(), next.full_state(), 8 * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(same.final_frames(), next.frames(), 2 * same.frame_bytes()), 0);
  next.step(zero.data());  // next-step mode resets now
  EXPECT_EQ(std::memcmp(same.full_state(), next.full_state(), 8 * sizeof(float)), 0);
  EXPECT_EQ(same.episode_step()[0], 0);
}

TEST(Batch, AutoresetDisabledRefusesEndedEnvsUntilReset) {
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  def.ep_len = 1;
  boxlcd::Batch b(def, 2, 1, 0, boxlcd::AutoresetMode::Disabled);
  std::vector<float> zero(2, 0.0f);
  b.step(zero.data());
  EXPECT_THROW(b.step(zero.data()), boxlcd::Error);
  const uint8_t mask[2] = {1, 1};
  b.reset(mask);
  EXPECT_NO_THROW(b.step(zero.data()));
}

TEST(Batch, ResetToStateRoundTripsAndHoldsStill) {
  boxlcd::Batch settle(boxlcd::env_def("Urchin"), 3, 1, 9);
  std::vector<float> zero(9, 0.0f);
  for (int t = 0; t < 40; ++t) settle.step(zero.data());
  std::vector<float> state(settle.full_state(), settle.full_state() + 3 * 16);
  boxlcd::Batch b(boxlcd::env_def("Urchin"), 3, 1, 77);
  b.reset_to_state(state.data());
  EXPECT_EQ(std::vector<float>(b.full_state(), b.full_state() + 48), state);
  for (int t = 0; t < 3; ++t) b.step(zero.data());
  for (int k = 0; k < 48; ++k) EXPECT_NEAR(b.full_state()[k], state[k], 0.05) << k;
}

TEST(Batch, BadInputThrowsBeforeAnythingChanges) {
  boxlcd::Batch b(boxlcd::env_def("Urchin"), 2, 1, 0);
  std::vector<float> a(6, 0.0f);
  a[4] = std::nanf("");
  EXPECT_THROW(b.step(a.data()), boxlcd::Error);
  EXPECT_EQ(b.episode_step()[0], 0);
  EXPECT_THROW(boxlcd::Batch(boxlcd::env_def("Urchin"), 0), boxlcd::Error);
  EXPECT_THROW(boxlcd::Batch(boxlcd::env_def("Urchin"), 1, -1), boxlcd::Error);
}

TEST(Batch, SendRecvMatchesStep) {
  boxlcd::Batch sync(boxlcd::env_def("UrchinCube"), 6, 2, 3), async(boxlcd::env_def("UrchinCube"), 6, 2, 3);
  for (int t = 0; t < 20; ++t) {
    const auto a = random_actions(6, 3, t);
    sync.step(a.data());
    async.send(a.data(), nullptr, 6);
    std::vector<int32_t> ids(6);
    ASSERT_EQ(async.recv(ids.data(), 6), 6);
    EXPECT_EQ(std::memcmp(sync.full_state(), async.full_state(), 6 * 20 * sizeof(float)), 0);
  }
  EXPECT_EQ(async.in_flight(), 0);
}

}  // namespace
