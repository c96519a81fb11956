// Box2D's allocations go through boxlcd's b2Alloc (cpp/box2d/b2_user_settings.h), which throws:
// a step that runs out of memory throws OutOfMemory and leaves the batch refusing every call
// but close(). Each test runs in its own process (gtest_discover_tests), so a limit stays there.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "boxlcd/boxlcd.hpp"

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;  // sanitizers map their own memory and abort when it runs out
#else
constexpr bool sanitized = false;
#endif
#ifdef B2_USER_SETTINGS
constexpr bool hooked = true;
#else
constexpr bool hooked = false;  // an installed Box2D (BOXLCD_SYSTEM_BOX2D=ON) has no b2Alloc hook
#endif

void limit_address_space(size_t extra_bytes) {
  long pages = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fscanf(f, "%ld", &pages), 1);
  std::fclose(f);
  const rlim_t limit = static_cast<rlim_t>(pages) * sysconf(_SC_PAGESIZE) + extra_bytes;
  const rlimit r{limit, limit};
  ASSERT_EQ(setrlimit(RLIMIT_AS, &r), 0);
}

TEST(Alloc, StepOutOfMemoryThrowsAndRetiresTheBatch) {
  if (sanitized) GTEST_SKIP() << "under a sanitizer";
  if (!hooked) GTEST_SKIP() << "Box2D without boxlcd's allocator hook";
  // 40 small boxes in Bounce's room: a new world has no contacts; its first step makes dozens.
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  boxlcd::ObjectDef box = def.objects.at(0);
  box.body.shape = boxlcd::Shape::Box;
  box.body.half_extents = {0.15, 0.15};
  box.body.restitution = 0.1;
  def.objects.assign(40, box);
  boxlcd::Batch pile(def, 400, 2);
  pile.set_frames_enabled(false);
  const std::vector<float> actions(static_cast<size_t>(pile.num_envs()) * pile.action_size(), 0.0f);
  limit_address_space(1 << 20);
  EXPECT_THROW(pile.step(actions.data()), boxlcd::OutOfMemory);
  EXPECT_THROW(pile.step(actions.data()), boxlcd::StateError);
  EXPECT_THROW(pile.reset(), boxlcd::StateError);
  pile.close();
  EXPECT_TRUE(pile.closed());
}

}  // namespace
