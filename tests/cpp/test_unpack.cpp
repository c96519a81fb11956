#include <gtest/gtest.h>

#include <vector>

#include "boxlcd/error.hpp"
#include "boxlcd/unpack.hpp"

using boxlcd::unpack_rows;

TEST(Unpack, MostSignificantBitFirstAndPaddingDropped) {
  const std::vector<uint8_t> packed = {0b10000001, 0b01100000, 0xFF, 0x00};  // 2 rows x 2 bytes
  std::vector<uint8_t> out(2 * 11);
  unpack_rows(packed.data(), 2, 2, 11, out.data());
  const std::vector<uint8_t> want = {1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1,
                                     1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
  EXPECT_EQ(out, want);
  std::vector<float> f(2 * 11);
  unpack_rows(packed.data(), 2, 2, 11, f.data());
  for (size_t i = 0; i < f.size(); ++i) EXPECT_EQ(f[i], static_cast<float>(want[i]));
}

TEST(Unpack, RejectsColumnsBeyondTheRow) {
  std::vector<uint8_t> packed(2), out(17);
  EXPECT_THROW(unpack_rows(packed.data(), 1, 2, 17, out.data()), boxlcd::Error);
  EXPECT_THROW(unpack_rows(packed.data(), 1, 2, 0, out.data()), boxlcd::Error);
}
