// A toy trainer on boxlcd's C++ API: evolution strategies on a linear policy (proprio ->
// joint speeds) for Urchin, scored from the LCD frames alone: how far right the lit pixels'
// centre moves in an episode. Each env of the batch tries its own perturbation of the policy.
//   trainer [iterations]
#include <boxlcd/boxlcd.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

// Mean column of the lit pixels of one packed frame (bit 1 = body, most significant bit first),
// or -1 when nothing is lit.
double lit_centre(const uint8_t* frame, int rows, int cols, int row_bytes, int* lit) {
  double sum = 0;
  *lit = 0;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      if (frame[r * row_bytes + c / 8] >> (7 - c % 8) & 1) {
        sum += c;
        ++*lit;
      }
  return *lit > 0 ? sum / *lit : -1.0;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 5;
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  def.ep_len = 40;
  const int n = 32;
  boxlcd::Batch batch(def, n, /*num_threads=*/2, /*seed=*/0, boxlcd::AutoresetMode::Disabled);
  const int p = batch.proprio_size(), a = batch.action_size();
  const int rows = batch.frame_rows(), cols = batch.frame_cols(), row_bytes = batch.frame_row_bytes();
  std::printf("%s: %d envs, frame %dx%d, proprio %d, actions %d\n", def.name.c_str(), n, rows, cols, p, a);

  const int params = a * (p + 1);
  std::vector<double> theta(params, 0.0), noise(static_cast<size_t>(n) * params);
  std::vector<float> actions(static_cast<size_t>(n) * a);
  std::vector<double> start(n), score(n);
  boxlcd::Rng rng(1);
  const double sigma = 0.5, rate = 0.2;
  long lit_total = 0, pixels_total = 0;

  for (int it = 0; it < iterations; ++it) {
    for (double& e : noise) e = rng.uniform(-1.0, 1.0) * std::sqrt(3.0);  // unit variance
    batch.reset(/*seed=*/static_cast<uint64_t>(it) * n);
    for (int i = 0; i < n; ++i) {
      int lit = 0;
      start[i] = lit_centre(batch.frames() + i * batch.frame_bytes(), rows, cols, row_bytes, &lit);
    }
    for (int t = 0; t < def.ep_len; ++t) {
      for (int i = 0; i < n; ++i) {
        const float* obs = batch.proprio() + i * p;
        const double* eps = &noise[static_cast<size_t>(i) * params];
        for (int k = 0; k < a; ++k) {
          const int row = k * (p + 1);
          double v = theta[row + p] + sigma * eps[row + p];  // bias
          for (int j = 0; j < p; ++j) v += (theta[row + j] + sigma * eps[row + j]) * obs[j];
          actions[i * a + k] = static_cast<float>(std::tanh(v));
        }
      }
      batch.step(actions.data());
    }
    double mean = 0;
    for (int i = 0; i < n; ++i) {
      int lit = 0;
      const double end = lit_centre(batch.frames() + i * batch.frame_bytes(), rows, cols, row_bytes, &lit);
      lit_total += lit;
      pixels_total += rows * cols;
      score[i] = start[i] >= 0 && end >= 0 ? end - start[i] : 0.0;
      mean += score[i] / n;
      if (!batch.truncated()[i]) {
        std::fprintf(stderr, "env %d did not reach the end of its episode\n", i);
        return 1;
      }
    }
    for (int i = 0; i < n; ++i)
      for (int q = 0; q < params; ++q)
        theta[q] += rate * (score[i] - mean) * noise[static_cast<size_t>(i) * params + q] / (n * sigma);
    std::printf("iteration %d: mean rightward move of the lit pixels %+.2f columns\n", it, mean);
  }
  const double lit_fraction = static_cast<double>(lit_total) / pixels_total;
  std::printf("lit pixels in final frames: %.3f\n", lit_fraction);
  // An Urchin is always somewhere in view: an all-dark or all-lit LCD means frames are broken.
  return lit_fraction > 0.005 && lit_fraction < 0.5 ? 0 : 1;
}
