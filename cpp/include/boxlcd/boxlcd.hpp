// Everything a C++ program needs: definitions, the catalogue and batches.
#pragma once

#include "boxlcd/batch.hpp"
#include "boxlcd/catalogue.hpp"
#include "boxlcd/edit.hpp"
#include "boxlcd/error.hpp"
#include "boxlcd/fields.hpp"
#include "boxlcd/layout.hpp"
#include "boxlcd/raster.hpp"
#include "boxlcd/rng.hpp"
#include "boxlcd/solver.hpp"
#include "boxlcd/unpack.hpp"
#include "boxlcd/world_def.hpp"
