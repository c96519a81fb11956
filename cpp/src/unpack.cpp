// Byte -> 8 values through a 256-entry table: one 8-byte (or 32-byte) copy per packed byte.
#include "boxlcd/unpack.hpp"

#include <array>
#include <cstring>
#include <string>

#include "boxlcd/error.hpp"

namespace boxlcd {

namespace {

template <class T>
const std::array<std::array<T, 8>, 256>& bit_table() {
  static const auto table = [] {
    std::array<std::array<T, 8>, 256> t{};
    for (int byte = 0; byte < 256; ++byte)
      for (int bit = 0; bit < 8; ++bit) t[byte][bit] = static_cast<T>((byte >> (7 - bit)) & 1);
    return t;
  }();
  return table;
}

template <class T>
void unpack(const uint8_t* packed, size_t rows, int row_bytes, int cols, T* out) {
  if (row_bytes < 1 || cols < 1 || cols > 8 * row_bytes)
    throw Error("cols must be in [1, " + std::to_string(8 * row_bytes) + "] for rows of " +
                std::to_string(row_bytes) + " bytes, got " + std::to_string(cols));
  const auto& table = bit_table<T>();
  const int whole = cols / 8;  // bytes all of whose bits are kept
  const int rest = cols % 8;
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* in = packed + r * row_bytes;
    T* o = out + r * cols;
    for (int b = 0; b < whole; ++b) std::memcpy(o + 8 * b, table[in[b]].data(), 8 * sizeof(T));
    if (rest) std::memcpy(o + 8 * whole, table[in[whole]].data(), rest * sizeof(T));
  }
}

}  // namespace

void unpack_rows(const uint8_t* packed, size_t rows, int row_bytes, int cols, uint8_t* out) {
  unpack(packed, rows, row_bytes, cols, out);
}

void unpack_rows(const uint8_t* packed, size_t rows, int row_bytes, int cols, float* out) {
  unpack(packed, rows, row_bytes, cols, out);
}

}  // namespace boxlcd
