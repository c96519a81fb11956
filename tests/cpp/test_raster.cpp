#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "boxlcd/boxlcd.hpp"

namespace {

using boxlcd::PackedFrame;
using boxlcd::RasterRule;
using boxlcd::Span;

bool bit(const uint8_t* f, int row_bytes, int row, int col) {
  return (f[row * row_bytes + col / 8] >> (7 - col % 8)) & 1;
}

// A frame as text, one line per row from the top, '#' for a lit pixel.
std::string picture(const uint8_t* f, int rows, int cols) {
  const int rb = (cols + 7) / 8;
  std::string s;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) s += bit(f, rb, r, c) ? '#' : '.';
    s += '\n';
  }
  return s;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + '\n';
  return s;
}

std::vector<uint8_t> pack(const std::vector<Span>& spans, int rows, int cols) {
  std::vector<uint8_t> data(rows * ((cols + 7) / 8), 0xAA);  // garbage that clear() must remove
  PackedFrame frame{data.data(), rows, cols};
  frame.clear();
  frame.fill(spans);
  return data;
}

std::vector<uint8_t> draw_polygon(const std::vector<double>& xs, const std::vector<double>& ys, int rows,
                                  int cols, RasterRule rule) {
  std::vector<Span> spans;
  boxlcd::polygon_spans(xs.data(), ys.data(), static_cast<int>(xs.size()), rows, cols, rule, spans);
  return pack(spans, rows, cols);
}

std::vector<uint8_t> draw_box(double x0, double y0, double x1, double y1, int rows, int cols, RasterRule rule) {
  return draw_polygon({x0, x1, x1, x0}, {y0, y0, y1, y1}, rows, cols, rule);
}

std::vector<uint8_t> draw_ellipse(double x0, double y0, double x1, double y1, int rows, int cols,
                                  RasterRule rule) {
  std::vector<Span> spans;
  boxlcd::ellipse_spans(x0, y0, x1, y1, rows, cols, rule, spans);
  return pack(spans, rows, cols);
}

// Rectangle [r0, r1] x [c0, c1] (top-down rows, inclusive) of a 16 x 16 frame.
std::string rect16(int r0, int r1, int c0, int c1) {
  std::string s;
  for (int r = 0; r < 16; ++r) {
    for (int c = 0; c < 16; ++c) s += (r >= r0 && r <= r1 && c >= c0 && c <= c1) ? '#' : '.';
    s += '\n';
  }
  return s;
}

TEST(Raster, OriginalRuleBoxLightsTruncatedCornersInclusive) {
  // 5.76..10.24 px truncates to 5..10; y-up rows 5..10 are top-down rows 10..5 of 16.
  const auto f = draw_box(5.76, 5.76, 10.24, 10.24, 16, 16, RasterRule::Original);
  EXPECT_EQ(picture(f.data(), 16, 16), rect16(5, 10, 5, 10));
}

TEST(Raster, AreaRuleBoxLightsPixelCentresInside) {
  // Pixel centres 6.5..9.5 lie inside 5.76..10.24.
  const auto f = draw_box(5.76, 5.76, 10.24, 10.24, 16, 16, RasterRule::Area);
  EXPECT_EQ(picture(f.data(), 16, 16), rect16(6, 9, 6, 9));
}

TEST(Raster, OffCentreBoxShowsTheFlipAndBothRules) {
  // x 1.2..4.9, y 10.3..13.6 px (y-up). Original: x 1..4, y 10..13 -> top rows 2..5.
  // Area: centres x 1.5..4.5 (cols 1..4), y 10.5..13.5 (y-up rows 10..13 -> top rows 2..5).
  const auto original = draw_box(1.2, 10.3, 4.9, 13.6, 16, 16, RasterRule::Original);
  EXPECT_EQ(picture(original.data(), 16, 16), rect16(2, 5, 1, 4));
  // Shrink so the rules differ: x 1.6..4.4 has centres 2.5..3.5, y 10.6..13.4 centres 11.5..12.5.
  const auto area = draw_box(1.6, 10.6, 4.4, 13.4, 16, 16, RasterRule::Area);
  EXPECT_EQ(picture(area.data(), 16, 16), rect16(3, 4, 2, 3));
  const auto original2 = draw_box(1.6, 10.6, 4.4, 13.4, 16, 16, RasterRule::Original);
  EXPECT_EQ(picture(original2.data(), 16, 16), rect16(2, 5, 1, 4));
}

TEST(Raster, MostSignificantBitIsTheLeftmostColumnAndRowZeroIsTheTop) {
  // One pixel at column 0 of the top row (y-up row 15).
  const auto f = draw_box(0.1, 15.1, 0.9, 15.9, 16, 16, RasterRule::Area);
  EXPECT_EQ(f[0], 0x80);
  for (size_t i = 1; i < f.size(); ++i) EXPECT_EQ(f[i], 0) << i;
  // Column 9 of the bottom row (y-up row 0): second byte of the last row, bit 6.
  const auto g = draw_box(9.1, 0.1, 9.9, 0.9, 16, 16, RasterRule::Area);
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], i == 31 ? 0x40 : 0) << i;
}

TEST(Raster, SpanBytesAcrossByteBoundaries) {
  std::vector<uint8_t> data(2 * 3, 0);
  PackedFrame frame{data.data(), 2, 24};
  frame.fill({{1, 3, 20}, {0, 9, 9}});  // y-up row 1 is the top row
  const std::vector<uint8_t> expected{0x1F, 0xFF, 0xF8, 0x00, 0x40, 0x00};
  EXPECT_EQ(data, expected);
}

TEST(Raster, SeedRuleTriangleFollowsTheSpecRule) {
  // Vertices truncate to (2,1), (9,1), (2,8): y-up row y runs from column 2 to 10 - y.
  const auto f = draw_polygon({2.7, 9.9, 2.2}, {1.2, 1.9, 8.6}, 16, 16, RasterRule::Original);
  std::string expected;
  for (int r = 0; r < 16; ++r) {
    const int y = 15 - r;
    for (int c = 0; c < 16; ++c) expected += (y >= 1 && y <= 8 && c >= 2 && c <= 10 - y) ? '#' : '.';
    expected += '\n';
  }
  EXPECT_EQ(picture(f.data(), 16, 16), expected);
}

TEST(Raster, SeedRuleRotatedQuadMatchesPillow) {
  // Vertices truncate to (8,1), (13,6), (8,12), (3,7). The expected picture is what Pillow's
  // ImageDraw.polygon draws in mode '1' for these vertices (flipped to row 0 at the top); it
  // lights one more pixel on rows 11 and 10 than the spec's "floored right crossing" wording.
  const auto f = draw_polygon({8.4, 13.2, 8.1, 3.5}, {1.3, 6.6, 12.9, 7.2}, 16, 16, RasterRule::Original);
  EXPECT_EQ(picture(f.data(), 16, 16), join({
                                           "................",
                                           "................",
                                           "................",
                                           "........#.......",
                                           ".......###......",  // y 11
                                           "......#####.....",  // y 10
                                           ".....######.....",
                                           "....########....",
                                           "...##########...",
                                           "....##########..",
                                           ".....########...",
                                           "......######....",
                                           "......#####.....",
                                           ".......###......",
                                           "........#.......",
                                           "................",
                                       }));
}

TEST(Raster, SeedRuleEllipseFillsItsIntegerBoxSymmetrically) {
  // PIL draws the ellipse inside the truncated box, both ends inclusive.
  struct Box {
    double x0, y0, x1, y1;
  };
  for (const Box& b : {Box{4.0, 4.0, 12.0, 12.0}, Box{3.2, 4.8, 11.7, 12.3}, Box{2.3, 2.3, 5.9, 5.9},
                       Box{1.5, 6.1, 14.9, 9.9}}) {
    SCOPED_TRACE(testing::Message() << b.x0 << "," << b.y0 << "," << b.x1 << "," << b.y1);
    const auto f = draw_ellipse(b.x0, b.y0, b.x1, b.y1, 16, 16, RasterRule::Original);
    const int ix0 = static_cast<int>(b.x0), iy0 = static_cast<int>(b.y0);
    const int ix1 = static_cast<int>(b.x1), iy1 = static_cast<int>(b.y1);
    int cmin = 99, cmax = -1, ymin = 99, ymax = -1;
    for (int r = 0; r < 16; ++r)
      for (int c = 0; c < 16; ++c) {
        const int y = 15 - r;
        if (!bit(f.data(), 2, r, c)) continue;
        cmin = std::min(cmin, c), cmax = std::max(cmax, c), ymin = std::min(ymin, y), ymax = std::max(ymax, y);
        // Mirror images across both axes of the integer box are lit too.
        EXPECT_TRUE(bit(f.data(), 2, r, ix0 + ix1 - c)) << r << "," << c;
        EXPECT_TRUE(bit(f.data(), 2, 15 - (iy0 + iy1 - y), c)) << r << "," << c;
      }
    EXPECT_EQ(cmin, ix0);
    EXPECT_EQ(cmax, ix1);
    EXPECT_EQ(ymin, iy0);
    EXPECT_EQ(ymax, iy1);
    // Convex: each lit row is one run.
    for (int r = 0; r < 16; ++r) {
      int runs = 0;
      for (int c = 0; c < 16; ++c) runs += bit(f.data(), 2, r, c) && (c == 0 || !bit(f.data(), 2, r, c - 1));
      EXPECT_LE(runs, 1) << r;
    }
  }
}

TEST(Raster, ShapesHalfOutsideAreClipped) {
  for (RasterRule rule : {RasterRule::Original, RasterRule::Area}) {
    SCOPED_TRACE(rule == RasterRule::Original ? "original" : "area");
    // Hangs over the bottom-left corner: only columns 0..2 of the bottom three rows remain.
    const auto f = draw_box(-20.0, -20.0, 2.9, 2.9, 16, 16, rule);
    std::string expected = rect16(13, 15, 0, rule == RasterRule::Original ? 2 : 2);
    EXPECT_EQ(picture(f.data(), 16, 16), expected);
    // Hangs over the top-right corner.
    const auto g = draw_box(13.6, 13.6, 30.0, 30.0, 16, 16, rule);
    EXPECT_EQ(picture(g.data(), 16, 16), rect16(0, rule == RasterRule::Original ? 2 : 1, rule == RasterRule::Original ? 13 : 14, 15));
    // A circle cut by the left border.
    const auto h = draw_ellipse(-4.0, 4.0, 4.0, 12.0, 16, 16, rule);
    for (int r = 0; r < 16; ++r) EXPECT_FALSE(bit(h.data(), 2, r, 15)) << r;
    EXPECT_TRUE(bit(h.data(), 2, 7, 0));
  }
}

TEST(Raster, PaddingBitsStayZero) {
  // Widths that are not multiples of 8; a shape far wider than the frame.
  for (int cols : {1, 5, 13, 20, 21, 31}) {
    for (RasterRule rule : {RasterRule::Original, RasterRule::Area}) {
      SCOPED_TRACE(cols);
      const int rb = (cols + 7) / 8;
      const auto f = draw_box(-5.0, -5.0, cols + 40.0, 40.0, 8, cols, rule);
      const auto e = draw_ellipse(-30.0, -30.0, cols + 30.0, 38.0, 8, cols, rule);
      for (const auto* img : {&f, &e})
        for (int r = 0; r < 8; ++r) {
          for (int c = 0; c < cols; ++c) EXPECT_TRUE(bit(img->data(), rb, r, c)) << r << "," << c;
          for (int c = cols; c < rb * 8; ++c) EXPECT_FALSE(bit(img->data(), rb, r, c)) << r << "," << c;
        }
    }
  }
}

TEST(Raster, FarAwayOrNonFiniteShapesDrawNothing) {
  const auto far = draw_box(1e30, 1e30, 2e30, 2e30, 16, 16, RasterRule::Original);
  const auto below = draw_box(-2e30, -2e30, -1e30, -1e30, 16, 16, RasterRule::Area);
  const auto nan = draw_box(std::nan(""), 1.0, 3.0, 3.0, 16, 16, RasterRule::Original);
  const auto nan_ellipse = draw_ellipse(1.0, std::nan(""), 3.0, 3.0, 16, 16, RasterRule::Original);
  for (const auto* f : {&far, &below, &nan, &nan_ellipse})
    for (uint8_t b : *f) EXPECT_EQ(b, 0);
}

TEST(Raster, AreaRuleCircleLightsExactlyTheCentresInside) {
  const auto f = draw_ellipse(4.0, 4.0, 12.0, 12.0, 16, 16, RasterRule::Area);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) {
      const double dx = c + 0.5 - 8.0, dy = (15 - r) + 0.5 - 8.0;
      EXPECT_EQ(bit(f.data(), 2, r, c), dx * dx + dy * dy <= 16.0) << r << "," << c;
    }
}

// ---- Through a Batch: world metres to pixels, with the spec's 3.2 px/m Dropbox frame. ----

// A Dropbox frame with its 0.7 m box unrotated at (x, y) metres.
std::string dropbox_at(double x, double y, RasterRule rule, double wh_ratio = 1.0) {
  boxlcd::WorldDef def = boxlcd::env_def("Dropbox");
  def.raster = rule;
  def.wh_ratio = wh_ratio;
  boxlcd::Batch b(def, 1);
  // Keys sorted: object0:cos, object0:sin, object0:x:p, object0:y:p.
  const float state[4] = {1.0f, 0.0f, static_cast<float>(2 * x / def.width() - 1),
                          static_cast<float>(2 * y / def.height - 1)};
  b.reset_to_state(state);
  return picture(b.frames(), b.frame_rows(), b.frame_cols());
}

TEST(RasterWorld, DropboxBoxAtKnownSpotOriginalRule) {
  // 1.8..3.2 m is 5.76..10.24 px: truncated to 5..10 and filled inclusively.
  EXPECT_EQ(dropbox_at(2.5, 2.5, RasterRule::Original), rect16(5, 10, 5, 10));
  // Centre (1.2, 3.7): x 0.5..1.9 m = 1.6..6.08 px -> cols 1..6; y 3.0..4.4 m = 9.6..14.08 px
  // -> y-up rows 9..14 -> top rows 1..6.
  EXPECT_EQ(dropbox_at(1.2, 3.7, RasterRule::Original), rect16(1, 6, 1, 6));
}

TEST(RasterWorld, DropboxBoxAtKnownSpotAreaRule) {
  EXPECT_EQ(dropbox_at(2.5, 2.5, RasterRule::Area), rect16(6, 9, 6, 9));
  // Centres 1.5..5.5 lie in 1.6..6.08 -> cols 2..5; 9.5..13.5 in 9.6..14.08 -> y-up 10..13.
  EXPECT_EQ(dropbox_at(1.2, 3.7, RasterRule::Area), rect16(2, 5, 2, 5));
}

TEST(RasterWorld, BoxOverTheTopLeftCornerIsClipped) {
  // Centre (0.3, 4.7): x -0.4..1.0 m = -1.28..3.2 px, y 4.0..5.4 m = 12.8..17.28 px.
  // Area: cols 0..2 (centres 0.5..2.5), y-up rows 13..15 -> top rows 0..2.
  EXPECT_EQ(dropbox_at(0.3, 4.7, RasterRule::Area), rect16(0, 2, 0, 2));
  // Original: x truncates to -1..3 (cols 0..3), y to 12..17 (y-up 12..15 -> top rows 0..3).
  EXPECT_EQ(dropbox_at(0.3, 4.7, RasterRule::Original), rect16(0, 3, 0, 3));
}

TEST(RasterWorld, OddWidthFrameLightsTheLastColumnButNoPadding) {
  // wh_ratio 1.25: W = 6.25 m, 20 columns (3 bytes a row, 4 padding bits), 3.2 px/m.
  for (RasterRule rule : {RasterRule::Original, RasterRule::Area}) {
    SCOPED_TRACE(rule == RasterRule::Original ? "original" : "area");
    boxlcd::WorldDef def = boxlcd::env_def("Dropbox");
    def.raster = rule;
    def.wh_ratio = 1.25;
    boxlcd::Batch b(def, 1);
    ASSERT_EQ(b.frame_cols(), 20);
    ASSERT_EQ(b.frame_row_bytes(), 3);
    // The box hangs 0.3 m past the right edge, its centre 0.4 m from the wall.
    const float state[4] = {1.0f, 0.0f, static_cast<float>(2 * 5.85 / 6.25 - 1), 0.0f};
    b.reset_to_state(state);
    const uint8_t* f = b.frames();
    int lit_last = 0;
    for (int r = 0; r < 16; ++r) {
      lit_last += bit(f, 3, r, 19);
      EXPECT_EQ(f[r * 3 + 2] & 0x0F, 0) << "padding of row " << r;
    }
    EXPECT_GE(lit_last, 3);
  }
}

TEST(RasterWorld, RandomEpisodesNeverSetPaddingBits) {
  // lcd_base 13 with wh_ratio 1: 13 columns, 3 padding bits a row; also 21 and 27 columns.
  for (const auto& [name, lcd_base, wh_ratio] :
       {std::tuple{"Object3", 13, 1.0}, std::tuple{"UrchinBalls", 16, 1.3}, std::tuple{"LuxoCubes", 18, 1.5}}) {
    for (RasterRule rule : {RasterRule::Original, RasterRule::Area}) {
      SCOPED_TRACE(name);
      boxlcd::WorldDef def = boxlcd::env_def(name);
      def.lcd_base = lcd_base;
      def.wh_ratio = wh_ratio;
      def.raster = rule;
      boxlcd::Batch b(def, 8, 1, 3);
      const int cols = b.frame_cols(), rb = b.frame_row_bytes();
      ASSERT_NE(cols % 8, 0);
      const uint8_t pad_mask = static_cast<uint8_t>(0xFFu >> (cols % 8));
      boxlcd::Rng rng(11);
      std::vector<float> a(8 * b.action_size());
      long lit = 0;
      for (int t = 0; t < 60; ++t) {
        for (float& v : a) v = static_cast<float>(rng.uniform(-1, 1));
        b.step(a.data());
        for (int i = 0; i < 8 * b.frame_rows(); ++i) {
          ASSERT_EQ(b.frames()[i * rb + rb - 1] & pad_mask, 0) << "step " << t << " row " << i;
          for (int k = 0; k < rb; ++k) lit += __builtin_popcount(b.frames()[i * rb + k]);
        }
      }
      EXPECT_GT(lit, 0);
    }
  }
}

TEST(RasterWorld, FramesOffZeroesTheBuffer) {
  boxlcd::Batch b(boxlcd::env_def("Dropbox"), 2, 1, 0);
  std::vector<float> zero(2, 0.0f);
  b.step(zero.data());
  int lit = 0;
  for (int i = 0; i < 2 * b.frame_bytes(); ++i) lit += b.frames()[i] != 0;
  ASSERT_GT(lit, 0);
  b.set_frames_enabled(false);
  b.step(zero.data());
  for (int i = 0; i < 2 * b.frame_bytes(); ++i) EXPECT_EQ(b.frames()[i], 0);
  b.set_frames_enabled(true);
  lit = 0;
  for (int i = 0; i < 2 * b.frame_bytes(); ++i) lit += b.frames()[i] != 0;
  EXPECT_GT(lit, 0);
}

}  // namespace
