// Convex shapes to row spans, and spans to packed bits or RGB pixels.
#include "boxlcd/raster.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
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

// ---- Original rule: PIL's ImageDraw fill in mode '1', as the original testbed's frames show it ----
// PIL works on integer vertices (C casts, so truncation towards zero) and keeps edge slopes and
// crossings in float; the float arithmetic below is deliberate, so that crossings landing on a
// half or a whole pixel round the way PIL's did. Coordinates are clamped first so that a
// far-away body can neither overflow the casts nor lose the float's integer precision.
constexpr double original_coord_limit = 1 << 20;

int original_coord(double v) {
  return static_cast<int>(std::trunc(std::clamp(v, -original_coord_limit, original_coord_limit)));
}

// A crossing's first lit pixel rounds halves away from zero, its last lit pixel rounds halves
// towards zero (so a crossing at exactly k.5 lights neither neighbour beyond the span).
int original_first(float f) {
  return f >= 0 ? static_cast<int>(std::floor(f + 0.5f)) : -static_cast<int>(std::floor(-f + 0.5f));
}
int original_last(float f) {
  return f >= 0 ? static_cast<int>(std::ceil(f - 0.5f)) : -static_cast<int>(std::ceil(-f - 0.5f));
}

void push_original_span(int row, int first, int last, int rows, int cols, std::vector<Span>& out) {
  if (row < 0 || row >= rows) return;
  first = std::max(first, 0);
  last = std::min(last, cols - 1);
  if (first <= last) out.push_back({row, first, last});
}

// A sloped polygon edge between integer end points.
struct OriginalEdge {
  int x0, y0;    // the end point it was drawn from
  int ylo, yhi;  // its row range, inclusive
  float dx;      // x step per row, in float
  // PIL's float (y - y0) * dx + x0. The product is exact in double and then rounded to float,
  // which also keeps a compiler from fusing it with the add (an FMA would round only once).
  float at(int y) const {
    const float step = static_cast<float>(static_cast<double>(y - y0) * dx);
    return step + static_cast<float>(x0);
  }
  bool ends_on(int y) const { return y == ylo || y == yhi; }
};

// At a row where edge e starts or ends at a corner shared with an earlier edge o (their crossings
// round to the same pixel), PIL pulls the crossing to within one pixel of the neighbouring row's
// crossings, so a thin sliver stays one connected run of pixels instead of a lone corner pixel.
float original_corner(const OriginalEdge* table, int i, int y, float x) {
  const OriginalEdge& e = table[i];
  for (int k = 0; k < i; ++k) {
    const OriginalEdge& o = table[k];
    if (!o.ends_on(y) || o.dx == 0) continue;
    if (std::round(x) != std::round(o.at(y))) continue;
    const int ny = y == e.yhi ? y - 1 : y + 1;  // the row beyond the corner, inside e
    if (ny < o.ylo || ny > o.yhi) continue;
    const float xe = e.at(ny), xo = o.at(ny);
    if (x > xe + 1 && x > xo + 1) return std::round(std::max(xe, xo)) + 1;
    if (x < xe - 1 && x < xo - 1) return std::round(std::min(xe, xo)) - 1;
    return x;
  }
  return x;
}

// Even-odd scanline fill at integer rows. Truncation can make a convex body's outline
// non-convex or self-crossing (a thin leg), so every crossing is kept, not just min and max.
void original_polygon_spans(const double* xs, const double* ys, int n, int rows, int cols,
                        std::vector<Span>& out) {
  constexpr int max_vertices = 16;
  int vx[max_vertices], vy[max_vertices];
  n = std::min(n, max_vertices);
  for (int i = 0; i < n; ++i) {
    vx[i] = original_coord(xs[i]);
    vy[i] = original_coord(ys[i]);
  }
  OriginalEdge table[max_vertices];
  int sloped = 0;
  int ymin = std::numeric_limits<int>::max(), ymax = std::numeric_limits<int>::min();
  for (int i = 0; i < n; ++i) {
    const int j = i + 1 == n ? 0 : i + 1;
    // The closing edge is left out when the outline already ends where it began.
    if (j == 0 && vx[i] == vx[0] && vy[i] == vy[0]) break;
    const int ylo = std::min(vy[i], vy[j]), yhi = std::max(vy[i], vy[j]);
    ymin = std::min(ymin, ylo);
    ymax = std::max(ymax, yhi);
    if (ylo == yhi) {
      // Horizontal edges are drawn as they are, end points included.
      push_original_span(ylo, std::min(vx[i], vx[j]), std::max(vx[i], vx[j]), rows, cols, out);
      continue;
    }
    table[sloped++] = {vx[i], vy[i], ylo, yhi,
                       static_cast<float>(vx[j] - vx[i]) / static_cast<float>(vy[j] - vy[i])};
  }
  if (sloped == 0) return;
  const int first_row = std::max(ymin, 0), last_row = std::min(ymax, rows - 1);
  for (int y = first_row; y <= last_row; ++y) {
    float xx[2 * max_vertices];
    int m = 0;
    for (int i = 0; i < sloped; ++i) {
      const OriginalEdge& e = table[i];
      if (y < e.ylo || y > e.yhi) continue;
      float x = e.at(y);
      if (y == e.yhi && y < ymax) {
        // An edge's top end counts twice (below the polygon's top row): with the next edge's
        // bottom end that keeps the even-odd pairing right at a vertex.
        xx[m++] = x;
      } else if (e.ends_on(y) && e.dx != 0) {
        x = original_corner(table, i, y, x);
      }
      xx[m++] = x;
    }
    std::sort(xx, xx + m);
    for (int k = 1; k < m; k += 2)
      push_original_span(y, original_first(xx[k - 1]), original_last(xx[k]), rows, cols, out);
  }
}

// PIL's filled ellipse over the truncated box: a Bresenham walk along the top-right quarter on a
// doubled grid (X = 2 x - a, Y = 2 y - b, so the box is [-a, a] x [-b, b]) picks, row by row,
// the grid point nearest the curve a^2 Y^2 + b^2 X^2 = a^2 b^2; each row Y then fills [-r, r]
// with r the walk's first (largest) X on that row, mirrored to -Y.
void original_ellipse_spans(double x0, double y0, double x1, double y1, int rows, int cols,
                        std::vector<Span>& out) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  const int ix0 = original_coord(x0), iy0 = original_coord(y0), ix1 = original_coord(x1), iy1 = original_coord(y1);
  const int a = ix1 - ix0, b = iy1 - iy0;
  // PIL draws nothing for an inverted box or a single-point one.
  if (a < 0 || b < 0 || a + b < 1) return;
  // Every lit pixel lies inside the box; skip boxes out of view, and absurd sizes whose walk
  // would be long (and whose squares would overflow below).
  if (ix1 < 0 || ix0 >= cols || iy1 < 0 || iy0 >= rows) return;
  constexpr int max_axis = 1 << 15;
  if (a > max_axis || b > max_axis) return;
  const int64_t a2 = int64_t{a} * a, b2 = int64_t{b} * b, a2b2 = a2 * b2;
  auto miss = [&](int64_t x, int64_t y) {
    const int64_t d = a2 * y * y + b2 * x * x - a2b2;
    return d < 0 ? -d : d;
  };
  auto emit = [&](int y_grid, int r) {
    const int first = ix0 + (a - r) / 2, last = ix0 + (a + r) / 2;
    push_original_span(iy0 + (b + y_grid) / 2, first, last, rows, cols, out);
    if (y_grid > 0) push_original_span(iy0 + (b - y_grid) / 2, first, last, rows, cols, out);
  };
  int x = a, y = b % 2;
  const int end_x = a % 2, end_y = b;
  emit(y, x);
  while (x != end_x || y != end_y) {
    // Up first; a diagonal or left step only where it lands strictly nearer the curve.
    int nx = x, ny = y + 2;
    int64_t best = miss(nx, ny);
    if (x > 1) {
      const int64_t diagonal = miss(x - 2, y + 2);
      if (diagonal < best) {
        nx = x - 2;
        best = diagonal;
      }
      if (miss(x - 2, y) < best) {
        nx = x - 2;
        ny = y;
      }
    }
    const bool new_row = ny != y;
    x = nx;
    y = ny;
    if (new_row) emit(y, x);
  }
}

}  // namespace

void polygon_spans(const double* xs, const double* ys, int n, int rows, int cols, RasterRule rule,
                   std::vector<Span>& out) {
  constexpr int max_vertices = 16;
  n = std::min(n, max_vertices);
  if (n <= 0) return;
  for (int i = 0; i < n; ++i)
    if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) return;
  if (rule == RasterRule::Original) return original_polygon_spans(xs, ys, n, rows, cols, out);
  // Area: pixel centres (y + 0.5, x + 0.5) inside the exact polygon.
  double ymin = ys[0], ymax = ys[0];
  for (int i = 0; i < n; ++i) {
    ymin = std::min(ymin, ys[i]);
    ymax = std::max(ymax, ys[i]);
  }
  const int first_row = std::max(0, clamp_to_rows(std::ceil(ymin - 0.5), rows));
  const int last_row = std::min(rows - 1, clamp_to_rows(std::floor(ymax - 0.5), rows));
  for (int row = first_row; row <= last_row; ++row) {
    double lo, hi;
    if (!row_crossings(xs, ys, n, row + 0.5, lo, hi)) continue;
    push_span(row, std::ceil(lo - 0.5), std::floor(hi - 0.5), cols, out);
  }
}

void ellipse_spans(double x0, double y0, double x1, double y1, int rows, int cols, RasterRule rule,
                   std::vector<Span>& out) {
  if (rule == RasterRule::Original) return original_ellipse_spans(x0, y0, x1, y1, rows, cols, out);
  // Area: pixel centres at half-integers inside the exact ellipse.
  const double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const double a = (x1 - x0) / 2, b = (y1 - y0) / 2;
  if (!(a > 0 && b > 0) || !std::isfinite(cx) || !std::isfinite(cy)) return;
  const int first_row = std::max(0, clamp_to_rows(std::ceil(cy - b - 0.5), rows));
  const int last_row = std::min(rows - 1, clamp_to_rows(std::floor(cy + b - 0.5), rows));
  for (int row = first_row; row <= last_row; ++row) {
    const double dy = (row + 0.5 - cy) / b;
    const double q = 1.0 - dy * dy;
    if (q < 0) continue;
    const double half = a * std::sqrt(q);
    push_span(row, std::ceil(cx - half - 0.5), std::floor(cx + half - 0.5), cols, out);
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
