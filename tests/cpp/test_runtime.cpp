// Runtime safety of Batch: calls from several threads, fork(), close().
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include "boxlcd/boxlcd.hpp"

namespace {

std::vector<float> zeros(const boxlcd::Batch& b) {
  return std::vector<float>(static_cast<size_t>(b.num_envs()) * b.action_size(), 0.0f);
}

std::vector<float> state_of(boxlcd::Batch& b) {
  const float* s = b.full_state();
  return std::vector<float>(s, s + static_cast<size_t>(b.num_envs()) * b.state_size());
}

TEST(Runtime, StepsFromSeveralThreadsSerialise) {
  boxlcd::Batch shared(boxlcd::env_def("Bounce2"), 32, 2, 7), ref(boxlcd::env_def("Bounce2"), 32, 1, 7);
  const auto a = zeros(shared);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int k = 0; k < 20; ++k) shared.step(a.data());
    });
  for (auto& t : threads) t.join();
  for (int k = 0; k < 80; ++k) ref.step(a.data());
  EXPECT_EQ(state_of(shared), state_of(ref));
}

TEST(Runtime, TwoThreadsReceivingOneSendGetEveryEnvOnce) {
  boxlcd::Batch b(boxlcd::env_def("Bounce"), 16, 2, 1);
  const auto a = zeros(b);
  for (int round = 0; round < 20; ++round) {
    b.send(a.data(), nullptr, 16);
    std::vector<int32_t> ids[2] = {std::vector<int32_t>(16), std::vector<int32_t>(16)};
    int got[2] = {0, 0};
    std::thread t0([&] { got[0] = b.recv(ids[0].data(), 16); });
    std::thread t1([&] { got[1] = b.recv(ids[1].data(), 16); });
    t0.join();
    t1.join();
    EXPECT_EQ(got[0] + got[1], 16);
    EXPECT_EQ(b.in_flight(), 0);
  }
}

TEST(Runtime, CloseThenUseThrows) {
  boxlcd::Batch b(boxlcd::env_def("Urchin"), 4, 2, 0);
  const auto a = zeros(b);
  auto owner = b.buffer_owner();
  const uint8_t* frames = b.frames();
  b.send(a.data(), nullptr, 4);  // close() with envs in flight stops their threads too
  b.close();
  b.close();
  EXPECT_TRUE(b.closed());
  // The owner keeps the buffer: reading it is no use after free (AddressSanitizer checks).
  const std::vector<uint8_t> after(frames, frames + 4 * b.frame_bytes());
  EXPECT_EQ(after.size(), static_cast<size_t>(4 * b.frame_bytes()));
  std::vector<int32_t> ids(4);
  std::vector<uint8_t> rgb(3 * 8 * 8);
  EXPECT_THROW(b.step(a.data()), boxlcd::StateError);
  EXPECT_THROW(b.reset(), boxlcd::StateError);
  EXPECT_THROW(b.reset(3), boxlcd::StateError);
  EXPECT_THROW(b.send(a.data(), nullptr, 4), boxlcd::StateError);
  EXPECT_THROW(b.recv(ids.data(), 4), boxlcd::StateError);
  EXPECT_THROW(b.in_flight(), boxlcd::StateError);
  EXPECT_THROW(b.render_rgb(0, 8, 8, rgb.data()), boxlcd::StateError);
  EXPECT_THROW(b.frames(), boxlcd::StateError);
  EXPECT_THROW(b.set_frames_enabled(false), boxlcd::StateError);
  EXPECT_EQ(b.num_envs(), 4);
}

TEST(Runtime, ForkedChildStepsLikeTheParent) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer does not support starting threads after a multi-threaded fork";
#endif
  boxlcd::Batch b(boxlcd::env_def("UrchinCube"), 8, 2, 3);
  const auto a = zeros(b);
  b.step(a.data());
  b.send(a.data(), nullptr, 8);  // in flight across the fork
  int pipe_fd[2];
  ASSERT_EQ(pipe(pipe_fd), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // No gtest assertions here: the child reports by what it writes and its exit code.
    std::vector<int32_t> ids(8);
    if (b.recv(ids.data(), 8) != 8) _exit(2);
    for (int k = 0; k < 5; ++k) b.step(a.data());
    const auto s = state_of(b);
    if (write(pipe_fd[1], s.data(), s.size() * sizeof(float)) != static_cast<ssize_t>(s.size() * sizeof(float)))
      _exit(3);
    b.close();
    _exit(0);
  }
  close(pipe_fd[1]);
  std::vector<int32_t> ids(8);
  ASSERT_EQ(b.recv(ids.data(), 8), 8);
  for (int k = 0; k < 5; ++k) b.step(a.data());
  const auto expected = state_of(b);
  std::vector<float> child(expected.size());
  size_t got = 0;
  while (got < child.size() * sizeof(float)) {
    const ssize_t r = read(pipe_fd[0], reinterpret_cast<char*>(child.data()) + got, child.size() * sizeof(float) - got);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  close(pipe_fd[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(child, expected);
}

TEST(Runtime, ForkedChildDestroysTheBatchWithoutHanging) {
  auto b = std::make_unique<boxlcd::Batch>(boxlcd::env_def("Bounce"), 8, 2, 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    b.reset();  // joins no thread of the parent's
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(Runtime, AbsurdThreadCountIsRefused) {
  EXPECT_THROW(boxlcd::Batch(boxlcd::env_def("Bounce"), 4096, 5000, 0), boxlcd::Error);
}

}  // namespace
