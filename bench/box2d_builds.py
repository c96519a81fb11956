"""Step and physics-floor speed of boxlcd built against each Box2D build, from one run.

Builds bench/boxlcd_bench once per build below (the installed Box2D package, and Box2D from its
pinned source with several flag sets), then runs every build on every env in turn, round after
round, so that a busy machine slows all builds alike. Figures: N envs, frames on, one and two
threads: step (Batch::step) and floor (bare b2World::Step of the same worlds), each as
wall-clock steps/s and as CPU microseconds per env step (the steadier on a shared machine).
Writes OUT.json and OUT.md.

  python bench/box2d_builds.py [--envs Bounce,Urchin] [--n 256] [--rounds 3]
                               [--build-root build/box2d-builds] [--out docs/bench/box2d_builds]
  python bench/box2d_builds.py --from docs/bench/box2d_builds.json   (rewrites the .md only)
Needs cmake and ninja (scripts/setup.sh puts them in .venv), Google Benchmark
(libbenchmark-dev) and, for the "system" build, Debian's libbox2d-dev (skipped without it).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = "O3-lto"  # the build the package uses (pyproject.toml turns BOXLCD_LTO on)
BUILDS = {
    "system": ("Debian's shared libbox2d 2.4.1 (BOXLCD_SYSTEM_BOX2D=ON)", ["-DBOXLCD_SYSTEM_BOX2D=ON"]),
    "O2": ("from source, -O2", ["-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG"]),
    "O3": ("from source, -O3 (CMake's Release flags)", []),
    "O3-lto": ("from source, -O3, LTO across boxlcd and Box2D (the Python package's build)", ["-DBOXLCD_LTO=ON"]),
    "O3-lto-v2": ("from source, -O3, LTO, -march=x86-64-v2 (not assumed by the wheel)",
                         ["-DBOXLCD_LTO=ON", "-DCMAKE_CXX_FLAGS=-march=x86-64-v2"]),
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def build(name: str, args: list[str], root: Path) -> Path | None:
    where = root / name
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    generator = ["-G", "Ninja"] if shutil.which("ninja", path=env["PATH"]) else []
    configure = ["cmake", "-S", str(ROOT), "-B", str(where), *generator, "-DBOXLCD_BENCH=ON",
                 "-DCMAKE_BUILD_TYPE=Release", *args]
    done = subprocess.run(configure, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f"{name}: not built (configure failed: {done.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
        return None
    subprocess.run(["cmake", "--build", str(where), "--target", "boxlcd_bench"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return where / "bench" / "boxlcd_bench"


def run_once(program: Path, env: str, n: int, seconds: tuple[float, float]) -> dict:
    cmd = [str(program), f"--boxlcd_envs={env}", f"--boxlcd_n={n}", "--boxlcd_threads=1,2", "--boxlcd_no_sweeps",
           f"--boxlcd_min_time={seconds[0]}", f"--boxlcd_max_time={seconds[1]}",
           "--benchmark_filter=^(floor|step/.*/frames:1)", "--benchmark_format=json"]
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    figures = {}
    for b in out["benchmarks"]:
        parts = b["name"].split("/")
        kind, threads = parts[0], 1
        for p in parts:
            if p.startswith("T:"):
                threads = int(p[2:])
        figures[f"{kind}/T:{threads}"] = {"steps_per_s": b["steps_per_s"], "cpu_us": b["cpu_us_per_env_step"]}
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", default="", help="comma-separated env names (default: every env)")
    ap.add_argument("--n", type=int, default=256, help="envs per batch")
    ap.add_argument("--rounds", type=int, default=2, help="runs of every build on every env; medians are kept")
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds each figure runs at least ...")
    ap.add_argument("--max-time", type=float, default=1.0, help="... and at most (whole episodes where they fit)")
    ap.add_argument("--builds", default=",".join(BUILDS), help="comma-separated builds, of " + ", ".join(BUILDS))
    ap.add_argument("--build-root", type=Path, default=ROOT / "build" / "box2d-builds")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "bench" / "box2d_builds")
    ap.add_argument("--from", dest="source", type=Path, help="rewrite OUT.md from this run's JSON; runs nothing")
    a = ap.parse_args()
    if a.source:
        doc = json.loads(a.source.read_text())
        a.out.with_suffix(".md").write_text(markdown(doc))
        return
    unknown = [b for b in a.builds.split(",") if b not in BUILDS]
    if unknown or a.n < 2 or a.rounds < 1 or not 0 < a.min_time <= a.max_time:
        ap.error(f"unknown builds {unknown}" if unknown else "need --n >= 2, --rounds >= 1, 0 < --min-time <= --max-time")

    programs = {}
    for name in a.builds.split(","):
        program = build(name, BUILDS[name][1], a.build_root)
        if program is not None:
            programs[name] = program
    if DEFAULT not in programs:
        sys.exit(f"the default build {DEFAULT} did not build")
    envs = a.envs.split(",") if a.envs else subprocess.run(
        [str(programs[DEFAULT]), "--benchmark_list_tests=true", "--boxlcd_n=2", "--boxlcd_threads=1",
         "--boxlcd_no_sweeps", "--boxlcd_calls=1", "--benchmark_filter=^floor/"], capture_output=True, text=True, check=True
    ).stdout.split()
    envs = [e.split("/")[1] if "/" in e else e for e in envs]

    runs: dict = {b: {e: [] for e in envs} for b in programs}
    load = []
    for r in range(a.rounds):
        for env in envs:
            for name, program in programs.items():
                runs[name][env].append(run_once(program, env, a.n, (a.min_time, a.max_time)))
            load.append(os.getloadavg()[0])
            print(f"round {r + 1}/{a.rounds} {env} done", file=sys.stderr)

    results = {}
    for name, by_env in runs.items():
        results[name] = {}
        for env, rs in by_env.items():
            results[name][env] = {
                key: {field: statistics.median(x[key][field] for x in rs) for field in ("steps_per_s", "cpu_us")}
                for key in rs[0]
            }
    doc = {
        "what": __doc__.splitlines()[0],
        "command": "python bench/box2d_builds.py " + " ".join(sys.argv[1:]),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "load_avg_1min": [min(load), max(load)]},
        "n": a.n, "rounds": a.rounds, "seconds_per_figure": [a.min_time, a.max_time], "default": DEFAULT,
        "builds": {b: BUILDS[b][0] for b in programs},
        "results": results,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    a.out.with_suffix(".md").write_text(markdown(doc))
    print(markdown(doc))


def markdown(doc: dict) -> str:
    res, n, default = doc["results"], doc["n"], doc["default"]
    m = doc["machine"]
    lines = [f"# Box2D builds: step and floor speed, N = {n}, frames on", "",
             f"`{doc['command']}`; {m['cpu']}, {m['cores']} cores, 1-minute load "
             f"{m['load_avg_1min'][0]:.1f} to {m['load_avg_1min'][1]:.1f} during the run; medians of "
             f"{doc['rounds']} rounds.", "",
             "CPU µs per env step (lower is faster; steadier than wall clock on a shared machine).", ""]
    builds = list(res)
    envs = list(res[default])
    for threads in (1, 2):
        head = ["env"] + [f"{b} step / floor" for b in builds]
        if "system" in res:
            head += [f"{default} step speed-up over system", f"{default} floor speed-up over system"]
        head += [f"{default} step speed / its floor's"]
        lines += [f"Threads: {threads}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for env in envs:
            def cpu(b, kind):
                return res[b][env][f"{kind}/T:{threads}"]["cpu_us"]
            row = [env] + [f"{cpu(b, 'step'):.2f} / {cpu(b, 'floor'):.2f}" for b in builds]
            if "system" in res:
                row += [f"{cpu('system', 'step') / cpu(default, 'step'):.2f}x",
                        f"{cpu('system', 'floor') / cpu(default, 'floor'):.2f}x"]
            row += [f"{cpu(default, 'floor') / cpu(default, 'step'):.2f}"]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    lines += ["Wall-clock steps/s (thousands), step / floor:", "",
              "| env | T | " + " | ".join(builds) + " |", "|---|---|" + "---|" * len(builds)]
    for env in envs:
        for threads in (1, 2):
            cells = [f"{res[b][env][f'step/T:{threads}']['steps_per_s'] / 1e3:.1f} / "
                     f"{res[b][env][f'floor/T:{threads}']['steps_per_s'] / 1e3:.1f}" for b in builds]
            lines.append(f"| {env} | {threads} | " + " | ".join(cells) + " |")
    lines += ["", "Builds:", ""] + [f"- `{b}`: {d}" for b, d in doc["builds"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
