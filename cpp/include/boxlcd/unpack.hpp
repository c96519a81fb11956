// Packed 1-bit frames to one value per pixel, for models that want bytes or floats.
#pragma once

#include <cstddef>
#include <cstdint>

namespace boxlcd {

// Unpacks `rows` packed rows of `row_bytes` bytes each (most significant bit first, as
// frames are stored) into rows x cols values, 0 or 1; cols <= 8 * row_bytes (the padding
// bits of the last byte are dropped). Throws boxlcd::Error for a bad cols.
void unpack_rows(const uint8_t* packed, size_t rows, int row_bytes, int cols, uint8_t* out);
void unpack_rows(const uint8_t* packed, size_t rows, int row_bytes, int cols, float* out);

}  // namespace boxlcd
