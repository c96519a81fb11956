// Shapes to pixels. Shapes arrive in pixel units in a y-up image (y = 0 is the bottom row);
// they become spans (one run of lit pixels on one row), and spans become packed bits or RGB.
#pragma once

#include <cstdint>
#include <vector>

#include "boxlcd/world_def.hpp"

namespace boxlcd {

struct Span {
  int row;  // y-up: 0 is the bottom row of the image
  int x0;   // first lit column
  int x1;   // last lit column (inclusive)
};

// A convex polygon's spans. Original: PIL's polygon fill (ImageDraw, mode '1'): vertices truncated
// to integers, horizontal edges drawn whole, even-odd crossings at integer rows from the first
// crossing rounded half away from zero to the next rounded half towards zero, with PIL's
// corner joins; a row may hold several (possibly overlapping) spans. Area: pixel centres
// inside the polygon. Spans are clipped to [0, rows) x [0, cols).
void polygon_spans(const double* xs, const double* ys, int n, int rows, int cols, RasterRule rule,
                   std::vector<Span>& out);

// An ellipse inside the box [x0, x1] x [y0, y1] (a circle is (c - r, c + r)).
// Original: PIL's filled ellipse over the truncated box (its integer Bresenham walk); Area: pixel
// centres inside the ellipse.
void ellipse_spans(double x0, double y0, double x1, double y1, int rows, int cols, RasterRule rule,
                   std::vector<Span>& out);

// A packed 1-bit frame: rows x ceil(cols / 8) bytes, most significant bit first, row 0 at top.
struct PackedFrame {
  uint8_t* data;
  int rows;
  int cols;
  int row_bytes() const { return (cols + 7) / 8; }
  void clear();
  void fill(const std::vector<Span>& spans);  // y-up spans, flipped onto top-down rows
};

// An 8-bit RGB image, rows x cols x 3, row 0 at top.
struct RgbImage {
  uint8_t* data;
  int rows;
  int cols;
  void clear(const uint8_t colour[3]);
  void fill(const std::vector<Span>& spans, const uint8_t colour[3]);
};

}  // namespace boxlcd
