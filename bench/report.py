"""Turns the benchmarks' JSON into a markdown report and a PNG plot.

    python bench/report.py --cpp bench-cpp.json --py bench-py.json --md bench.md --png bench.png

--cpp: the C++ benchmark's Google Benchmark JSON (--benchmark_out=... --benchmark_out_format=json);
--py: bench/bench.py's JSON. Either may be left out; the tables then skip what needs it.
Figures at N=256 unless a column says otherwise. Shares of one env step (T=1, frames on):
physics = the floor's time per step, raster = World::render, state = World::write_state,
reset = one reset / ep_len, other = the rest (threading, actions, autoreset bookkeeping).
"""
from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict

REF_N = 256


def parse_name(name: str) -> tuple[str, str, dict]:
    """'step/Urchin/N:256/T:1/frames:1/iterations:9/real_time' -> ('step', 'Urchin', {...})."""
    parts = [p for p in name.split("/") if p != "real_time" and not p.startswith("iterations:")]
    params = {}
    for p in parts[2:]:
        key, _, value = p.partition(":")
        params[key] = int(value)
    return parts[0], parts[1], params


def load_cpp(paths: list[str] | None) -> dict:
    """{(kind, env, frozenset(params)): benchmark entry}; repetitions are averaged, and a later
    file's figures replace an earlier file's (e.g. a rerun of some figures on a quieter machine)."""
    out = {}
    for path in paths or []:
        with open(path) as f:
            data = json.load(f)
        groups = defaultdict(list)
        for b in data["benchmarks"]:
            if b.get("run_type") == "aggregate":
                continue
            kind, env, params = parse_name(b.get("run_name", b["name"]))
            groups[(kind, env, frozenset(params.items()))].append(b)
        for key, runs in groups.items():
            merged = dict(runs[0])
            for field, value in runs[0].items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    merged[field] = statistics.mean(r[field] for r in runs)
            out[key] = merged
        out.setdefault("_contexts", []).append((path, data.get("context", {})))
    return out


def cpp(db: dict, kind: str, env: str, field: str, **params):
    b = db.get((kind, env, frozenset(params.items())))
    return None if b is None else b.get(field)


def fmt(v, digits=0, suffix=""):
    if v is None:
        return "-"
    if isinstance(v, float) and digits == 0:
        return f"{v:,.0f}{suffix}"
    return f"{v:,.{digits}f}{suffix}"


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def envs_of(db: dict, py: dict) -> list[str]:
    seen = []
    for key in db:
        if isinstance(key, tuple) and key[0] == "step" and key[1] not in seen:
            seen.append(key[1])
    for r in py.get("python", []):
        if r["env"] not in seen:
            seen.append(r["env"])
    return seen


def py_grid(py: dict, env: str, n: int, t: int, frames: int = 1):
    for r in py.get("python", []):
        if (r["env"], r["N"], r["T"], r["frames"]) == (env, n, t, frames):
            return r["steps_per_s"]
    return None


def paired(py: dict, env: str, n: int, t: int = 1):
    for r in py.get("paired", []):
        if (r["env"], r["N"], r["T"]) == (env, n, t):
            return r
    return None


def summary(db: dict, py: dict, n: int) -> tuple[str, list[dict]]:
    rows, records = [], []
    for env in envs_of(db, py):
        s1 = cpp(db, "step", env, "steps_per_s", N=n, T=1, frames=1)
        s2 = cpp(db, "step", env, "steps_per_s", N=n, T=2, frames=1)
        cores = cpp(db, "step", env, "cores_used", N=n, T=2, frames=1)
        cpu1 = cpp(db, "step", env, "cpu_us_per_env_step", N=n, T=1, frames=1)
        cpu2 = cpp(db, "step", env, "cpu_us_per_env_step", N=n, T=2, frames=1)
        off = cpp(db, "step", env, "steps_per_s", N=n, T=1, frames=0)
        floor = cpp(db, "floor", env, "steps_per_s", N=n)
        raster = cpp(db, "parts", env, "raster_us")
        state = cpp(db, "parts", env, "state_us")
        reset = cpp(db, "reset", env, "reset_us", N=REF_N)
        ep_len = cpp(db, "reset", env, "ep_len", N=REF_N)
        shares = ["-"] * 5
        if s1 and floor and raster is not None and state is not None and reset is not None:
            total = 1e6 / s1
            parts = [1e6 / floor, raster, state, reset / ep_len]
            parts.append(total - sum(parts))
            shares = [f"{100 * p / total:.0f}%" for p in parts]
        pr = paired(py, env, n, 1)
        p1 = paired(py, env, 1, 1)
        py_ratio = pr["python_over_cpp_speed"] if pr else None
        # The paired runs time Batch::step and the floor back to back, 3 times: a second reading.
        paired_floor = (statistics.median(pr["floor_us_per_call"]) / statistics.median(pr["cpp_us_per_call"])
                        if pr else None)
        if py_ratio is None and s1 and py_grid(py, env, n, 1):
            py_ratio = py_grid(py, env, n, 1) / s1  # separate runs: noisier
        rec = {"env": env, "floor": floor, "t1": s1, "t2": s2, "off": off, "raster_us": raster,
               "reset_us": reset, "py_ratio": py_ratio,
               "py_extra_us_n1": p1["python_extra_us_per_call"] if p1 else None,
               "py_extra_over_floor_n1": p1["python_extra_us_over_floor"] if p1 else None}
        records.append(rec)
        rec["t1_over_floor_paired"] = paired_floor
        rows.append([env, fmt(floor), fmt(s1), fmt(s1 / floor if s1 and floor else None, 2), fmt(paired_floor, 2),
                     fmt(s2), fmt(s2 / s1 if s1 and s2 else None, 2), fmt(cores, 2),
                     fmt(cpu2 / cpu1 if cpu1 and cpu2 else None, 2),
                     fmt(s2 / floor if s2 and floor else None, 2), fmt(off), *shares,
                     fmt(py_ratio, 2), fmt(rec["py_extra_us_n1"], 1), fmt(rec["py_extra_over_floor_n1"], 1)])
    header = ["env", "floor steps/s", "T=1 steps/s", "T=1/floor", "T=1/floor (paired)", "T=2 steps/s", "T=2/T=1",
              "T=2 cores got", "T=2/T=1 CPU per step", "T=2/floor",
              "T=1 no frames", "physics", "raster", "state", "reset", "other", "Python/C++",
              "Python extra us @N=1", "Python us over floor @N=1"]
    return table(header, rows), records


def growth_n(db: dict, py: dict) -> str:
    ns = sorted({dict(k[2]).get("N") for k in db if isinstance(k, tuple) and k[0] == "step"
                 and "lcd" not in dict(k[2]) and "objects" not in dict(k[2])})
    rows = []
    for env in envs_of(db, py):
        row = [env]
        for n in ns:
            a = cpp(db, "step", env, "steps_per_s", N=n, T=1, frames=1)
            b = cpp(db, "step", env, "steps_per_s", N=n, T=2, frames=1)
            f = cpp(db, "floor", env, "steps_per_s", N=n)
            row.append(f"{fmt(a)} / {fmt(b)} / {fmt(f)}")
        rows.append(row)
    return table(["env"] + [f"N={n}: T=1 / T=2 / floor" for n in ns], rows)


def growth_objects(db: dict) -> str:
    rows = []
    for env in ["Bounce", "Bounce2", "Object3", "UrchinCubes"]:
        s = cpp(db, "step", env, "steps_per_s", N=REF_N, T=1, frames=1)
        f = cpp(db, "floor", env, "steps_per_s", N=REF_N)
        bodies = cpp(db, "parts", env, "bodies")
        if s:
            rows.append([env, fmt(bodies), fmt(s), fmt(f), fmt(1e6 / s, 1)])
    ks = sorted({dict(k[2])["objects"] for k in db if isinstance(k, tuple) and "objects" in dict(k[2])})
    for k in ks:
        s = cpp(db, "step", "Bounce", "steps_per_s", N=REF_N, T=1, frames=1, objects=k)
        f = cpp(db, "floor", "Bounce", "steps_per_s", N=REF_N, objects=k)
        rows.append([f"Bounce x{k} balls", str(k), fmt(s), fmt(f), fmt(1e6 / s if s else None, 1)])
    return table(["world", "bodies", "T=1 steps/s", "floor steps/s", "us per env step"], rows)


def growth_lcd(db: dict) -> str:
    rows = []
    keys = sorted({(k[1], dict(k[2])["lcd"]) for k in db if isinstance(k, tuple) and k[0] == "parts"
                   and "lcd" in dict(k[2])})
    for env, lcd in keys:
        r = cpp(db, "parts", env, "raster_us", lcd=lcd)
        shape = f"{fmt(cpp(db, 'parts', env, 'frame_rows', lcd=lcd))}x{fmt(cpp(db, 'parts', env, 'frame_cols', lcd=lcd))}"
        s = cpp(db, "step", env, "steps_per_s", N=REF_N, T=1, frames=1, lcd=lcd)
        rows.append([env, str(lcd), shape, fmt(r, 2), fmt(s)])
    return table(["env", "lcd_base", "frame", "raster us/frame", f"T=1 steps/s (N={REF_N})"], rows)


def parts_table(db: dict, py: dict) -> str:
    rows = []
    for env in envs_of(db, py):
        r = cpp(db, "parts", env, "raster_us")
        if r is None:
            continue
        shape = f"{fmt(cpp(db, 'parts', env, 'frame_rows'))}x{fmt(cpp(db, 'parts', env, 'frame_cols'))}"
        on = cpp(db, "step", env, "steps_per_s", N=REF_N, T=1, frames=1)
        off = cpp(db, "step", env, "steps_per_s", N=REF_N, T=1, frames=0)
        in_situ = 1e6 / on - 1e6 / off if on and off else None
        rows.append([env, shape, fmt(r, 2), fmt(in_situ, 2), fmt(cpp(db, "parts", env, "state_us"), 2),
                     fmt(cpp(db, "reset", env, "reset_us", N=REF_N), 1), fmt(cpp(db, "reset", env, "ep_len", N=REF_N))])
    return table(["env", "frame", "raster us/frame", "frames on - off us/step", "state us", "reset us",
                  "ep_len"], rows)


def memory_table(py: dict) -> str:
    rows = []
    for m in py.get("memory", []):
        rows.append([m["env"], f"{m['num_envs']:,}", fmt(m["rss_bytes_per_env"]), fmt(m["virtual_bytes_per_env"]),
                     fmt(float(m["estimate_bytes_per_env"])), fmt(m["rss_gib"], 2), fmt(m["virtual_gib"], 2),
                     "yes" if m["fits_4_gib"] else "NO"])
    return table(["env", "envs", "RSS bytes/env", "virtual bytes/env", "bytes_per_env() estimate",
                  "RSS GiB", "virtual GiB", "fits 4 GiB"], rows)


def plot(db: dict, py: dict, records: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import ScalarFormatter

    fig, ax = plt.subplots(2, 2, figsize=(14, 10))
    envs = envs_of(db, py)
    colours = plt.get_cmap("tab20").colors
    # Steps/s against N.
    a = ax[0][0]
    ns = sorted({dict(k[2])["N"] for k in db if isinstance(k, tuple) and k[0] == "step"
                 and "lcd" not in dict(k[2]) and "objects" not in dict(k[2])})
    for i, env in enumerate(envs):
        ys = [cpp(db, "step", env, "steps_per_s", N=n, T=1, frames=1) for n in ns]
        if any(ys):
            a.plot(ns, ys, marker="o", label=env, color=colours[i % len(colours)])
    a.set(xscale="log", yscale="log", xlabel="num_envs N", ylabel="env steps/s (T=1, frames on)",
          title="steps/s against N")
    a.legend(fontsize=7, ncol=2)
    # Per env at N=256: floor, T=1, T=2.
    a = ax[0][1]
    x = range(len(records))
    w = 0.27
    for off, key, label in ((-w, "floor", "physics floor"), (0, "t1", "T=1"), (w, "t2", "T=2")):
        a.bar([i + off for i in x], [r[key] or 0 for r in records], w, label=label)
    a.set_xticks(list(x), [r["env"] for r in records], rotation=60, ha="right", fontsize=8)
    a.set(yscale="log", ylabel=f"env steps/s, N={REF_N}", title="every env against its physics floor")
    a.legend()
    # Object count.
    a = ax[1][0]
    ks = sorted({dict(k[2])["objects"] for k in db if isinstance(k, tuple) and "objects" in dict(k[2])})
    if ks:
        a.plot(ks, [cpp(db, "step", "Bounce", "steps_per_s", N=REF_N, T=1, frames=1, objects=k) for k in ks],
               marker="o", label="Bounce with k balls, T=1")
        a.plot(ks, [cpp(db, "floor", "Bounce", "steps_per_s", N=REF_N, objects=k) for k in ks],
               marker="x", linestyle="--", label="its floor")
    for env in ["Bounce", "Bounce2", "Object3", "UrchinCubes"]:
        s, b = cpp(db, "step", env, "steps_per_s", N=REF_N, T=1, frames=1), cpp(db, "parts", env, "bodies")
        if s and b:
            a.scatter([b], [s], marker="s")
            a.annotate(env, (b, s), fontsize=8)
    a.set(xscale="log", yscale="log", xlabel="bodies per world", ylabel="env steps/s", title="steps/s against bodies")
    a.set_xticks([1, 2, 3, 4, 7, 8])
    a.xaxis.set_major_formatter(ScalarFormatter())
    a.legend(fontsize=8)
    # Frame size.
    a = ax[1][1]
    for env in sorted({k[1] for k in db if isinstance(k, tuple) and k[0] == "parts" and "lcd" in dict(k[2])}):
        lcds = sorted(dict(k[2])["lcd"] for k in db if isinstance(k, tuple) and k[0] == "parts" and k[1] == env
                      and "lcd" in dict(k[2]))
        a.plot(lcds, [cpp(db, "parts", env, "raster_us", lcd=l) for l in lcds], marker="o", label=f"{env} raster us/frame")
        a.plot(lcds, [1e6 / cpp(db, "step", env, "steps_per_s", N=REF_N, T=1, frames=1, lcd=l) for l in lcds],
               marker="x", linestyle="--", label=f"{env} us per env step")
    a.set(xscale="log", yscale="log", xlabel="lcd_base (frame rows)", ylabel="microseconds",
          title="cost against frame size")
    a.set_xticks([16, 64, 256])
    a.xaxis.set_major_formatter(ScalarFormatter())
    a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpp", nargs="+", help="Google Benchmark JSON of bench/boxlcd_bench (later files win)")
    p.add_argument("--py", nargs="+", help="JSON of bench/bench.py (a later file's non-empty parts win)")
    p.add_argument("--md", default="bench.md")
    p.add_argument("--png", default="bench.png")
    args = p.parse_args(argv)
    db = load_cpp(args.cpp)
    py = {}
    for path in args.py or []:
        with open(path) as f:
            part = json.load(f)
        if not py:
            py = part
            py["commands"] = [part.get("command", "")]
            continue
        py["commands"].append(part.get("command", ""))
        for key in ("python", "paired", "memory"):
            if part.get(key):
                py[key] = part[key]
    out = ["# boxlcd benchmarks", ""]
    for path, ctx in db.pop("_contexts", []):
        out.append(f"- C++ `{path}`: {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, load average "
                   f"{', '.join(f'{x:.2f}' for x in ctx.get('load_avg', []))} at the start; "
                   f"{ctx.get('boxlcd_grid', '')}; {ctx.get('boxlcd_times', '')}.")
    if py:
        out.append(f"- Python: {', '.join(f'`{c}`' for c in py.get('commands', []))}; {py['machine'].get('cpus')} CPUs, load average "
                   f"{py['machine'].get('load_avg', '-')} at the start, {py['machine'].get('load_avg_at_end', '-')} at the end.")
    text, records = summary(db, py, REF_N)
    out += ["", f"## Every env at N={REF_N}", "",
            "steps/s = env steps per second (same_step autoreset, random actions, resets included). "
            "Shares: of one T=1 env step with frames. T=2 cores got: the process's CPU time / wall time "
            "in the T=2 run; below 2, other load took the second core and T=2/T=1 understates the pool. "
            "T=2/T=1 CPU per step: what the second thread costs in work (1.00: nothing).", "", text]
    out += ["", "## Steps/s against N", "", growth_n(db, py)]
    out += ["", "## Against object count", "", growth_objects(db)]
    out += ["", "## Against frame size", "", growth_lcd(db)]
    out += ["", "## Raster, state and reset costs per env", "", parts_table(db, py)]
    if py.get("memory"):
        out += ["", "## Memory", "", memory_table(py)]
    md = "\n".join(out) + "\n"
    with open(args.md, "w") as f:
        f.write(md)
    print(md)
    if db:
        plot(db, py, records, args.png)
        print(f"wrote {args.md} and {args.png}")


if __name__ == "__main__":
    main()
