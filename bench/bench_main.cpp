// boxlcd's C++ benchmark (Google Benchmark). Every figure is a rate or a cost in microseconds
// from our own wall clock (steady_clock), written as counters; Google Benchmark's own times
// are kept in the JSON too. Names are "<kind>/<env>/<key>:<value>/..." (bench/report.py reads them):
//   step/<env>/N:n/T:t/frames:f   Batch::step (same_step autoreset, random actions, resets included)
//   floor/<env>/N:n[/T:t]         the physics floor: n bare b2Worlds of the same definition,
//                                 b2World::Step x substeps with the same iterations, one thread
//                                 (T:t: t threads, each stepping its own share, never handing
//                                 off); resets (every ep_len steps) are not timed
//   parts/<env>                   per env: World::render (raster), World::write_state (state)
//   reset/<env>/N:n               Batch::reset of n envs that were mid-episode, per env
// Variants add /lcd:L (frame size) or /objects:k (k copies of the env's first object).
//
//   boxlcd_bench [--boxlcd_quick] [--boxlcd_envs=Urchin,Bounce] [--boxlcd_n=1,16,256,4096]
//                [--boxlcd_threads=1,2] [--boxlcd_min_time=0.5] [--boxlcd_max_time=3]
//                [--boxlcd_calls=K] [--boxlcd_no_sweeps] [--boxlcd_smoke] [--boxlcd_verify]
//                [--benchmark_out=cpp.json --benchmark_out_format=json] [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "boxlcd/boxlcd.hpp"
#include "world.hpp"  // internal: timing World::render and World::write_state on their own

namespace {

using Clock = std::chrono::steady_clock;
using boxlcd::Batch;
using boxlcd::WorldDef;

struct Config {
  std::vector<std::string> envs = boxlcd::env_names();
  std::vector<int> ns = {1, 16, 256, 4096};
  std::vector<int> threads = {1, 2};
  std::vector<int> frames = {1, 0};
  std::vector<int> lcd_sizes = {16, 64, 256};
  std::vector<std::string> lcd_envs = {"Urchin", "Bounce"};
  std::vector<int> object_counts = {1, 2, 4, 8};
  int parts_n = 256;   // worlds for the raster / state / reset costs and the sweeps
  double min_time = 0.5;  // seconds a figure is measured for, at least ...
  double max_time = 3.0;  // ... and at most (a figure covers whole episodes when it fits)
  bool sweeps = true;
  int64_t calls = 0;  // > 0: every step and floor figure makes exactly this many calls
  bool verify_only = false;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<int> split_ints(const std::string& s) {
  std::vector<int> out;
  for (const auto& item : split(s)) out.push_back(std::stoi(item));
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

std::string join(const std::vector<int>& v) {
  std::vector<std::string> s;
  for (int x : v) s.push_back(std::to_string(x));
  return join(s);
}

// Takes our --boxlcd_* flags out of argv; the rest goes to Google Benchmark.
Config parse_flags(int* argc, char** argv) {
  Config c;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      const size_t n = std::strlen(flag);
      return arg.compare(0, n, flag) == 0 && arg.size() > n && arg[n] == '=' ? argv[i] + n + 1 : nullptr;
    };
    if (arg == "--boxlcd_quick") {
      c.ns = {1, 256};
      c.min_time = 0.1;
      c.max_time = 0.5;
    } else if (arg == "--boxlcd_smoke") {
      c.ns = {1, 3};
      c.lcd_sizes = {16, 64};
      c.object_counts = {1, 2};
      c.parts_n = 3;
      c.min_time = 0.0;
      c.max_time = 0.0;  // one call per figure
    } else if (arg == "--boxlcd_verify") {
      c.verify_only = true;
    } else if (arg == "--boxlcd_no_sweeps") {
      c.sweeps = false;
    } else if (const char* v = value("--boxlcd_envs")) {
      c.envs = split(v);
    } else if (const char* v = value("--boxlcd_n")) {
      c.ns = split_ints(v);
    } else if (const char* v = value("--boxlcd_threads")) {
      c.threads = split_ints(v);
    } else if (const char* v = value("--boxlcd_frames")) {
      c.frames = split_ints(v);
    } else if (const char* v = value("--boxlcd_lcd")) {
      c.lcd_sizes = split_ints(v);
    } else if (const char* v = value("--boxlcd_lcd_envs")) {
      c.lcd_envs = split(v);
    } else if (const char* v = value("--boxlcd_objects")) {
      c.object_counts = split_ints(v);
    } else if (const char* v = value("--boxlcd_parts_n")) {
      c.parts_n = std::stoi(v);
    } else if (const char* v = value("--boxlcd_calls")) {
      c.calls = std::stoll(v);
    } else if (const char* v = value("--boxlcd_min_time")) {
      c.min_time = std::stod(v);
    } else if (const char* v = value("--boxlcd_max_time")) {
      c.max_time = std::stod(v);
    } else if (arg.rfind("--boxlcd_", 0) == 0) {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      std::exit(2);
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  return c;
}

// Random actions in [-1, 1], a few matrices cycled through so every call gets fresh ones.
struct Actions {
  static constexpr int kinds = 16;
  std::vector<std::vector<float>> rows;
  Actions(int n, int a, uint64_t seed) : rows(kinds) {
    boxlcd::Rng rng(seed);
    for (auto& m : rows) {
      m.resize(static_cast<size_t>(n) * a);
      for (float& v : m) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    }
  }
  const float* at(int64_t call) const { return rows[call % kinds].data(); }
};

WorldDef with_lcd(WorldDef def, int lcd) {
  if (lcd > 0) boxlcd::apply_override(def, "lcd_base", static_cast<double>(lcd));
  return def;
}

// The env's first object repeated k times (Bounce: k balls).
WorldDef with_objects(WorldDef def, int k) {
  const boxlcd::ObjectDef object = def.objects.at(0);
  def.objects.assign(static_cast<size_t>(k), object);
  return def;
}

// Microseconds per env step, from a short probe, to size each figure's number of calls.
double probe_us_per_env_step(const WorldDef& def) {
  Batch batch(def, 16, 1, 12345);
  Actions actions(16, batch.action_size(), 1);
  batch.step(actions.at(0));
  const auto t0 = Clock::now();
  for (int k = 1; k <= 3; ++k) batch.step(actions.at(k));
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / (3 * 16);
}

// How many calls a figure gets: at least min_time and, where max_time allows, whole episodes
// (so every env resets the same share of steps as in a long run).
int64_t calls_for(const Config& c, double us_per_call, int ep_len) {
  if (c.calls > 0) return c.calls;
  const double call_s = std::max(us_per_call, 0.01) * 1e-6;
  const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(c.max_time / call_s));
  const int64_t want = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(c.min_time / call_s)));
  if (cap < ep_len) return std::min(want, cap);
  const int64_t cycles = std::min((want + ep_len - 1) / ep_len, cap / ep_len);
  return std::max<int64_t>(1, cycles) * ep_len;
}

// CPU seconds of the whole process (every thread), to see what threads cost even when a
// busy machine does not give them a core each.
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void set_common(benchmark::State& state, double env_steps, double seconds) {
  state.counters["steps_per_s"] = env_steps / seconds;
  state.counters["us_per_env_step"] = 1e6 * seconds / env_steps;
}

void bench_step(benchmark::State& state, WorldDef def, int n, int threads, bool frames) {
  Batch batch(def, n, threads, 0, boxlcd::AutoresetMode::SameStep);
  batch.set_frames_enabled(frames);
  Actions actions(n, batch.action_size(), 7);
  int64_t call = 0;
  const double cpu0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  for (auto _ : state) batch.step(actions.at(call++));
  const double s = seconds_since(t0), cpu = process_cpu_seconds() - cpu0;
  set_common(state, static_cast<double>(call) * n, s);
  state.counters["episodes"] = static_cast<double>(call) / def.ep_len;
  // cores_used < T: the machine did not give this run T cores (other load), so its wall-clock
  // speedup understates the pool; cpu_us_per_env_step still shows what the threads cost.
  state.counters["cpu_us_per_env_step"] = 1e6 * cpu / (static_cast<double>(call) * n);
  state.counters["cores_used"] = cpu / s;
}

// The physics floor: the library's own World (same definition, same placement from the same
// generator) stepped by a bare loop of b2World::Step, with none of Batch's threads, autoreset,
// state or frames around it.
std::unique_ptr<boxlcd::World> floor_world(const WorldDef& def, const boxlcd::Layout& layout, uint64_t seed) {
  boxlcd::warm_up_box2d();
  auto w = std::make_unique<boxlcd::World>(def, layout);
  w->seed(seed);
  w->reset_random();
  return w;
}

void floor_step(boxlcd::World& w, const WorldDef& def, const float* action) {
  w.apply_action(action);
  const int substeps = def.substeps_per_step();
  const float dt = static_cast<float>(1.0 / (def.fps * substeps));
  for (int s = 0; s < substeps; ++s) w.physics().Step(dt, def.velocity_iterations, def.position_iterations);
}

// n floor worlds (world i seeded i, as Batch seeds env i) and the random actions they get.
// Built in place and never moved: the worlds keep a reference to the layout.
struct Floor {
  const boxlcd::Layout layout;
  const int a;  // action size
  const Actions actions;
  std::vector<std::unique_ptr<boxlcd::World>> worlds;

  Floor(const WorldDef& def, int n)
      : layout(boxlcd::make_layout(def)), a(layout.action_size()), actions(n, a, 7) {
    for (int i = 0; i < n; ++i) worlds.push_back(floor_world(def, layout, i));
  }
  Floor(const Floor&) = delete;
  // Steps worlds [begin, end) once with call `call`'s actions.
  void step(const WorldDef& def, int64_t call, int begin, int end) {
    const float* act = actions.at(call);
    for (int i = begin; i < end; ++i) floor_step(*worlds[i], def, act + static_cast<size_t>(i) * a);
  }
  void reset() {
    for (auto& w : worlds) w->reset_random();
  }
};

void bench_floor(benchmark::State& state, WorldDef def, int n) {
  Floor floor(def, n);
  int64_t call = 0;
  double timed = 0.0, cpu = 0.0;
  auto t0 = Clock::now();
  double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    floor.step(def, call, 0, n);
    if (++call % def.ep_len == 0) {  // the episode ends: new bodies, off the clock
      timed += seconds_since(t0);
      cpu += process_cpu_seconds() - cpu0;
      state.PauseTiming();
      floor.reset();
      state.ResumeTiming();
      t0 = Clock::now();
      cpu0 = process_cpu_seconds();
    }
  }
  timed += seconds_since(t0);
  cpu += process_cpu_seconds() - cpu0;
  set_common(state, static_cast<double>(call) * n, timed);
  state.counters["cpu_us_per_env_step"] = 1e6 * cpu / (static_cast<double>(call) * n);
}

// The floor on T threads: thread k steps its own contiguous share of the worlds, with no
// hand-off between steps (threads meet only at episode ends, where resets are off the clock).
// Its speedup over floor/T:1 is what the hardware gives two cores stepping Box2D in one process:
// the ceiling for Batch's pool.
void bench_floor_threads(benchmark::State& state, WorldDef def, int n, int threads) {
  Floor floor(def, n);
  int64_t call = 0;
  double timed = 0.0;
  const double cpu0 = process_cpu_seconds();
  double cpu_untimed = 0.0;
  while (state.KeepRunningBatch(def.ep_len)) {
    const auto t0 = Clock::now();
    auto run_share = [&](int k) {
      const int begin = n * k / threads, end = n * (k + 1) / threads;
      for (int64_t c = call; c < call + def.ep_len; ++c) floor.step(def, c, begin, end);
    };
    std::vector<std::thread> helpers;
    for (int k = 1; k < threads; ++k) helpers.emplace_back(run_share, k);
    run_share(0);
    for (auto& h : helpers) h.join();
    timed += seconds_since(t0);
    call += def.ep_len;
    state.PauseTiming();
    const double c0 = process_cpu_seconds();
    floor.reset();
    cpu_untimed += process_cpu_seconds() - c0;
    state.ResumeTiming();
  }
  set_common(state, static_cast<double>(call) * n, timed);
  const double cpu = process_cpu_seconds() - cpu0 - cpu_untimed;
  state.counters["cpu_us_per_env_step"] = 1e6 * cpu / (static_cast<double>(call) * n);
}

// Raster and state costs per env, on worlds spread over the first steps of their episodes.
void bench_parts(benchmark::State& state, WorldDef def, int n) {
  const boxlcd::Layout layout = boxlcd::make_layout(def);
  boxlcd::warm_up_box2d();
  std::vector<std::unique_ptr<boxlcd::World>> worlds;
  Actions actions(1, layout.action_size(), 3);
  for (int i = 0; i < n; ++i) {
    worlds.push_back(std::make_unique<boxlcd::World>(def, layout));
    worlds.back()->seed(static_cast<uint64_t>(i));
    worlds.back()->reset_random();
    for (int k = 0; k < i % std::min(def.ep_len, 20); ++k) {
      worlds.back()->apply_action(actions.at(i + k));
      worlds.back()->step_physics();
    }
  }
  std::vector<uint8_t> frame(static_cast<size_t>(def.frame_rows()) * def.frame_row_bytes());
  std::vector<float> full(layout.state_size()), proprio(layout.proprio_size());
  double raster_s = 0, state_s = 0;
  int64_t passes = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    for (auto& w : worlds) {
      w->render(frame.data());
      benchmark::DoNotOptimize(frame.data());
    }
    raster_s += seconds_since(t0);
    t0 = Clock::now();
    for (auto& w : worlds) {
      w->write_state(full.data(), proprio.data());
      benchmark::DoNotOptimize(full.data());
    }
    state_s += seconds_since(t0);
    ++passes;
  }
  state.counters["raster_us"] = 1e6 * raster_s / (static_cast<double>(passes) * n);
  state.counters["state_us"] = 1e6 * state_s / (static_cast<double>(passes) * n);
  state.counters["ep_len"] = def.ep_len;
  state.counters["bodies"] = static_cast<double>(layout.bodies.size());
  state.counters["frame_rows"] = def.frame_rows();
  state.counters["frame_cols"] = def.frame_cols();
}

// Batch::reset of envs that have stepped (bodies in contact), per env; frames on.
void bench_reset(benchmark::State& state, WorldDef def, int n) {
  Batch batch(def, n, 1, 0, boxlcd::AutoresetMode::Disabled);
  Actions actions(n, batch.action_size(), 5);
  double s = 0;
  int64_t resets = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (int k = 0; k < 3; ++k) batch.step(actions.at(resets + k));
    state.ResumeTiming();
    const auto t0 = Clock::now();
    batch.reset();
    s += seconds_since(t0);
    ++resets;
  }
  state.counters["reset_us"] = 1e6 * s / (static_cast<double>(resets) * n);
  state.counters["ep_len"] = def.ep_len;
}

// Floor and Batch start from the same poses (same generator, same order) and, stepped with the
// same actions, stay together: the floor is the same physics. Returns false on a mismatch at the
// start; writes the largest difference after `steps` steps.
bool verify_floor(const std::string& name, double* start_diff, double* later_diff) {
  const WorldDef def = boxlcd::env_def(name);
  const boxlcd::Layout layout = boxlcd::make_layout(def);
  const int n = 4, steps = std::min(10, def.ep_len - 1), d = layout.state_size(), a = layout.action_size();
  Batch batch(def, n, 1, 0, boxlcd::AutoresetMode::SameStep);
  std::vector<std::unique_ptr<boxlcd::World>> worlds;
  for (int i = 0; i < n; ++i) worlds.push_back(floor_world(def, layout, i));
  std::vector<float> row(d), proprio(layout.proprio_size());
  auto diff = [&] {
    double m = 0;
    for (int i = 0; i < n; ++i) {
      worlds[i]->write_state(row.data(), proprio.data());
      for (int k = 0; k < d; ++k) m = std::max(m, std::abs(double(row[k]) - batch.full_state()[i * d + k]));
    }
    return m;
  };
  *start_diff = diff();
  Actions actions(n, a, 11);
  for (int t = 0; t < steps; ++t) {
    batch.step(actions.at(t));
    for (int i = 0; i < n; ++i) {
      floor_step(*worlds[i], def, actions.at(t) + i * a);
    }
  }
  *later_diff = diff();
  return *start_diff <= 1e-6;
}

bool verify_all(const Config& c, bool print) {
  bool ok = true;
  std::string report;
  for (const auto& name : c.envs) {
    double start = 0, later = 0;
    const bool good = verify_floor(name, &start, &later);
    ok = ok && good;
    char line[160];
    std::snprintf(line, sizeof line, "%s: start %.3g, after 10 steps %.3g%s", name.c_str(), start, later,
                  good ? "" : "  <- the floor does not build the same world");
    if (print || !good) std::fprintf(good ? stdout : stderr, "floor vs batch  %s\n", line);
    report += (report.empty() ? "" : "; ") + std::string(line);
  }
  benchmark::AddCustomContext("boxlcd_floor_vs_batch_max_state_diff", report);
  return ok;
}

template <class Fn>
void add(const std::string& name, int64_t iterations, Fn&& fn) {
  benchmark::RegisterBenchmark(name.c_str(), std::forward<Fn>(fn))
      ->Iterations(std::max<int64_t>(1, iterations))
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

void register_all(const Config& c) {
  std::map<std::string, double> us;  // probed cost per env step, T=1, frames on
  auto probe = [&](const std::string& key, const WorldDef& def) {
    if (!us.count(key)) us[key] = c.max_time > 0 && c.calls == 0 ? probe_us_per_env_step(def) : 1e9;
    return us[key];
  };
  const int pn = c.parts_n;
  for (const auto& name : c.envs) {
    const WorldDef def = boxlcd::env_def(name);
    const double u = probe(name, def);
    // Every thread count makes the same calls: the same steps of the same episodes (an episode's
    // first steps, bodies in the air, are cheaper than its later ones), so T=2/T=1 compares like
    // with like even when max_time cuts a figure short of an episode.
    for (int n : c.ns) {
      add("floor/" + name + "/N:" + std::to_string(n), calls_for(c, u * n, def.ep_len),
          [=](benchmark::State& s) { bench_floor(s, def, n); });
      for (int t : c.threads)
        if (t > 1 && n >= t)
          add("floor/" + name + "/N:" + std::to_string(n) + "/T:" + std::to_string(t),
              calls_for(c, u * n, def.ep_len), [=](benchmark::State& s) { bench_floor_threads(s, def, n, t); });
      for (int t : c.threads)
        for (int f : c.frames)
          add("step/" + name + "/N:" + std::to_string(n) + "/T:" + std::to_string(t) + "/frames:" + std::to_string(f),
              calls_for(c, u * n, def.ep_len),
              [=](benchmark::State& s) { bench_step(s, def, n, t, f != 0); });
    }
    add("parts/" + name, c.max_time > 0 ? 50 : 1, [=](benchmark::State& s) { bench_parts(s, def, pn); });
    add("reset/" + name + "/N:" + std::to_string(pn), c.max_time > 0 ? 20 : 1,
        [=](benchmark::State& s) { bench_reset(s, def, pn); });
  }
  if (!c.sweeps) return;
  // Frame size: step cost and raster cost as lcd_base grows.
  for (const auto& name : c.lcd_envs) {
    for (int lcd : c.lcd_sizes) {
      const WorldDef def = with_lcd(boxlcd::env_def(name), lcd);
      const double u = probe(name + "/lcd:" + std::to_string(lcd), def);
      const std::string tag = "/lcd:" + std::to_string(lcd);
      add("step/" + name + "/N:" + std::to_string(pn) + "/T:1/frames:1" + tag, calls_for(c, u * pn, def.ep_len),
          [=](benchmark::State& s) { bench_step(s, def, pn, 1, true); });
      add("parts/" + name + tag, c.max_time > 0 ? 20 : 1, [=](benchmark::State& s) { bench_parts(s, def, pn); });
    }
  }
  // Object count: k copies of Bounce's ball in one world, stepped and at the floor.
  for (int k : c.object_counts) {
    const WorldDef def = with_objects(boxlcd::env_def("Bounce"), k);
    const double u = probe("Bounce/objects:" + std::to_string(k), def);
    const std::string tag = "/objects:" + std::to_string(k);
    add("step/Bounce/N:" + std::to_string(pn) + "/T:1/frames:1" + tag, calls_for(c, u * pn, def.ep_len),
        [=](benchmark::State& s) { bench_step(s, def, pn, 1, true); });
    add("floor/Bounce/N:" + std::to_string(pn) + tag, calls_for(c, u * pn, def.ep_len),
        [=](benchmark::State& s) { bench_floor(s, def, pn); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Config c = parse_flags(&argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  for (const auto& name : c.envs) boxlcd::env_def(name);  // unknown names fail here, by name
  const bool same = verify_all(c, c.verify_only);
  if (c.verify_only) return same ? 0 : 1;
  benchmark::AddCustomContext("boxlcd_grid", "envs=" + join(c.envs) + " N=" + join(c.ns) + " T=" +
                                                 join(c.threads) + " frames=" + join(c.frames));
  benchmark::AddCustomContext("boxlcd_times", "min_time=" + std::to_string(c.min_time) +
                                                  " max_time=" + std::to_string(c.max_time) +
                                                  " parts_n=" + std::to_string(c.parts_n));
  register_all(c);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return same ? 0 : 1;
}
