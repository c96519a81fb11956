// Convex shapes to row spans, and spans to packed bits or RGB pixels.
#include "boxlcd/raster.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace boxlcd {
namespace {

// The x range where the horizontal line at height y crosses a convex polygon; false if none.
bool row_crossings(const double* xs, const double* ys, int n, double y, double& lo, double& hi) {
  lo = std::numeric_limits<double>::infinity();
  hi = -lo;
  for (int i = 0; i < n; ++i) {
    const int j = i + 1 == n ? 0 : i + 1;
    const double y0 = ys[i], y1 = ys[j];
    if (y < std::min(y0, y1) || y > std::max(y0, y1)) continue;
    if (y0 == y1) {
      lo = std::min({lo, xs[i], xs[j]});
      hi = std::max({hi, xs[i], xs[j]});
    } else {
      const double x = xs[i] + (y - y0) * (xs[j] - xs[i]) / (y1 - y0);
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  }
  return lo <= hi;
}

// Row bounds clamped in double first: a far-away body must not overflow the int cast.
int clamp_to_rows(double row, int rows) {
  return static_cast<int>(std::clamp(row, -1.0, static_cast<double>(rows)));
}

void push_span(int row, double first, double last, int cols, std::vector<Span>& out) {
  first = std::max(first, 0.0);
  last = std::min(last, static_cast<double>(cols - 1));
  if (first <= last) out.push_back({row, static_cast<int>(first), static_cast<int>(last)});
}

}  // namespace

void polygon_spans(const double* xs, const double* ys, int n, int rows, int cols, RasterRule rule,
                   std::vector<Span>& out) {
  constexpr int max_vertices = 16;
  double tx[max_vertices], ty[max_vertices];
  n = std::min(n, max_vertices);
  double ymin = ys[0], ymax = ys[0];
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) return;
    // PIL truncates vertices to integers; the area rule keeps them exact.
    tx[i] = rule == RasterRule::Seed ? std::trunc(xs[i]) : xs[i];
    ty[i] = rule == RasterRule::Seed ? std::trunc(ys[i]) : ys[i];
    ymin = std::min(ymin, ty[i]);
    ymax = std::max(ymax, ty[i]);
  }
  // Seed rows sit at integer y; area rows sample pixel centres at y + 0.5.
  const double centre = rule == RasterRule::Seed ? 0.0 : 0.5;
  const int first_row = std::max(0, clamp_to_rows(std::ceil(ymin - centre), rows));
  const int last_row = std::min(rows - 1, clamp_to_rows(std::floor(ymax - centre), rows));
  for (int row = first_row; row <= last_row; ++row) {
    double lo, hi;
    if (!row_crossings(tx, ty, n, row + centre, lo, hi)) continue;
    if (rule == RasterRule::Seed)
      push_span(row, std::floor(lo + 0.5), std::floor(hi), cols, out);
    else
      push_span(row, std::ceil(lo - 0.5), std::floor(hi - 0.5), cols, out);
  }
}

void ellipse_spans(double x0, double y0, double x1, double y1, int rows, int cols, RasterRule rule,
                   std::vector<Span>& out) {
  // Seed: PIL works on the integer box, pixel centres at integers, edges inclusive.
  // Area: pixel centres at half-integers inside the exact ellipse.
  double cx, cy, a, b, centre;
  if (rule == RasterRule::Seed) {
    const double ix0 = std::trunc(x0), iy0 = std::trunc(y0);
    const double ix1 = std::trunc(x1), iy1 = std::trunc(y1);
    cx = (ix0 + ix1) / 2;
    cy = (iy0 + iy1) / 2;
    a = (ix1 - ix0) / 2 + 0.5;
    b = (iy1 - iy0) / 2 + 0.5;
    centre = 0.0;
  } else {
    cx = (x0 + x1) / 2;
    cy = (y0 + y1) / 2;
    a = (x1 - x0) / 2;
    b = (y1 - y0) / 2;
    centre = 0.5;
  }
  if (!(a > 0 && b > 0) || !std::isfinite(cx) || !std::isfinite(cy)) return;
  const int first_row = std::max(0, clamp_to_rows(std::ceil(cy - b - centre), rows));
  const int last_row = std::min(rows - 1, clamp_to_rows(std::floor(cy + b - centre), rows));
  for (int row = first_row; row <= last_row; ++row) {
    const double dy = (row + centre - cy) / b;
    const double q = 1.0 - dy * dy;
    if (q < 0) continue;
    const double half = a * std::sqrt(q);
    push_span(row, std::ceil(cx - half - centre), std::floor(cx + half - centre), cols, out);
  }
}

void PackedFrame::clear() { std::memset(data, 0, static_cast<size_t>(rows) * row_bytes()); }

void PackedFrame::fill(const std::vector<Span>& spans) {
  const int stride = row_bytes();
  for (const Span& s : spans) {
    uint8_t* line = data + static_cast<size_t>(rows - 1 - s.row) * stride;
    const int b0 = s.x0 >> 3, b1 = s.x1 >> 3;
    const uint8_t first = static_cast<uint8_t>(0xFFu >> (s.x0 & 7));
    const uint8_t last = static_cast<uint8_t>(0xFFu << (7 - (s.x1 & 7)));
    if (b0 == b1) {
      line[b0] |= first & last;
    } else {
      line[b0] |= first;
      for (int b = b0 + 1; b < b1; ++b) line[b] = 0xFF;
      line[b1] |= last;
    }
  }
}

void RgbImage::clear(const uint8_t colour[3]) {
  const size_t n = static_cast<size_t>(rows) * cols;
  for (size_t i = 0; i < n; ++i) std::memcpy(data + 3 * i, colour, 3);
}

void RgbImage::fill(const std::vector<Span>& spans, const uint8_t colour[3]) {
  for (const Span& s : spans) {
    uint8_t* line = data + static_cast<size_t>(rows - 1 - s.row) * cols * 3;
    for (int x = s.x0; x <= s.x1; ++x) std::memcpy(line + 3 * x, colour, 3);
  }
}

}  // namespace boxlcd
