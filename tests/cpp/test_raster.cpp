#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "boxlcd/raster.hpp"

namespace {

using boxlcd::PackedFrame;
using boxlcd::RasterRule;
using boxlcd::Span;

bool bit(const std::vector<uint8_t>& f, int row_bytes, int row, int col) {
  return (f[row * row_bytes + col / 8] >> (7 - col % 8)) & 1;
}

std::vector<uint8_t> draw_box(double x0, double y0, double x1, double y1, int rows, int cols, RasterRule rule) {
  const double xs[4] = {x0, x1, x1, x0}, ys[4] = {y0, y0, y1, y1};
  std::vector<Span> spans;
  boxlcd::polygon_spans(xs, ys, 4, rows, cols, rule, spans);
  std::vector<uint8_t> data(rows * ((cols + 7) / 8), 0xAA);
  PackedFrame frame{data.data(), rows, cols};
  frame.clear();
  frame.fill(spans);
  return data;
}

TEST(Raster, SeedRuleBoxLightsTruncatedCornersInclusive) {
  // 5.76..10.24 px truncates to 5..10; y-up rows 5..10 are top-down rows 10..5 of 16.
  const auto f = draw_box(5.76, 5.76, 10.24, 10.24, 16, 16, RasterRule::Seed);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      EXPECT_EQ(bit(f, 2, r, c), r >= 5 && r <= 10 && c >= 5 && c <= 10) << r << "," << c;
}

TEST(Raster, AreaRuleBoxLightsPixelCentresInside) {
  const auto f = draw_box(5.76, 5.76, 10.24, 10.24, 16, 16, RasterRule::Area);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      EXPECT_EQ(bit(f, 2, r, c), r >= 6 && r <= 9 && c >= 6 && c <= 9) << r << "," << c;
}

TEST(Raster, MostSignificantBitIsTheLeftmostColumnAndRowZeroIsTheTop) {
  // One pixel at column 0 of the top row (y-up row 15).
  const auto f = draw_box(0.1, 15.1, 0.9, 15.9, 16, 16, RasterRule::Area);
  EXPECT_EQ(f[0], 0x80);
  for (size_t i = 1; i < f.size(); ++i) EXPECT_EQ(f[i], 0) << i;
}

TEST(Raster, ShapesHalfOutsideAreClipped) {
  const auto f = draw_box(-20.0, -20.0, 3.4, 3.4, 16, 16, RasterRule::Area);
  int lit = 0;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) lit += bit(f, 2, r, c);
  EXPECT_EQ(lit, 9);  // columns 0..2 of the bottom three rows
  EXPECT_TRUE(bit(f, 2, 15, 0) && bit(f, 2, 13, 2) && !bit(f, 2, 12, 0));
}

TEST(Raster, PaddingBitsStayZero) {
  // 20 columns: 3 bytes per row, the last 4 bits are padding.
  const auto f = draw_box(-5.0, -5.0, 40.0, 40.0, 8, 20, RasterRule::Seed);
  for (int r = 0; r < 8; ++r) {
    EXPECT_EQ(f[r * 3], 0xFF);
    EXPECT_EQ(f[r * 3 + 1], 0xFF);
    EXPECT_EQ(f[r * 3 + 2], 0xF0);
  }
}

TEST(Raster, FarAwayOrNonFiniteShapesDrawNothing) {
  const auto far = draw_box(1e30, 1e30, 2e30, 2e30, 16, 16, RasterRule::Seed);
  const auto nan = draw_box(std::nan(""), 1.0, 3.0, 3.0, 16, 16, RasterRule::Seed);
  for (uint8_t b : far) EXPECT_EQ(b, 0);
  for (uint8_t b : nan) EXPECT_EQ(b, 0);
}

TEST(Raster, CircleIsSymmetricAndAreaRuleMatchesCentres) {
  std::vector<Span> spans;
  boxlcd::ellipse_spans(4.0, 4.0, 12.0, 12.0, 16, 16, RasterRule::Area, spans);
  std::vector<uint8_t> data(32, 0);
  PackedFrame frame{data.data(), 16, 16};
  frame.fill(spans);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) {
      const double dx = c + 0.5 - 8.0, dy = (15 - r) + 0.5 - 8.0;
      EXPECT_EQ(bit(data, 2, r, c), dx * dx + dy * dy <= 16.0) << r << "," << c;
    }
}

}  // namespace
