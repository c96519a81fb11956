"""Where a world model's training time goes: the CPU's matrix-product peak, the frame
transformer's training steps/s and FLOPs per step, and the share of the peak they reach.

  python bench/flops.py [--threads 1] [--seconds 10] [--env Luxo] [--presets learned-sim table1]
                        [--precisions fp32 bf16] [--data DIR] [--out docs/bench/flops.json]

In one run, on --threads torch threads:
- peak: torch.mm of two --matmul-size square matrices, fp32, and bf16 where the CPU has
  AVX512-BF16 or AMX (/proc/cpuinfo's avx512_bf16, amx_bf16); elsewhere torch emulates bf16.
- per preset (`boxlcd train frame_transformer --preset NAME`) and precision (bf16: the model's
  `precision=bf16`, its transformer blocks under bf16 autocast): FLOPs of one training step
  (boxlcd.analysis.counted_flops: matrix products and attention, forward and backward), the
  bare step's steps/s (loss, gradients and AdamW on one batch of real windows, built as train
  builds it) and train()'s own loop's steps/s (drawing windows, the step, lr schedule, logs),
  each as FLOP/s and as a share of the peak of its precision.
The data are --episodes random-action episodes of --env collected into a temporary folder
(or --data). Writes --out (JSON) and a table beside it (.md); prints the table.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch

from boxlcd.analysis import counted_flops, log_steps_per_second, report, training_step, utilisation
from boxlcd.dataset import collect, open_episodes
from boxlcd.files import write_text
from boxlcd.models.precision import cpu_flags
from boxlcd.models.presets import PRESETS
from boxlcd.models.spec import data_spec
from boxlcd.models.train import train

MODEL = "frame_transformer"
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
LOOP_SKIP = 2  # steps of train()'s loop left out of its rate: start-up and first allocations


def calls_per_second(fn, seconds: float) -> float:
    """Calls of fn() per second over at least `seconds`, after one call to warm up."""
    fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed


def matmul_peak(size: int, precision: str, seconds: float) -> float:
    """FLOP/s of torch.mm on two size x size matrices of the precision, into a fixed output."""
    a, b = (torch.randn(size, size).to(DTYPES[precision]) for _ in range(2))
    out = torch.empty(size, size, dtype=DTYPES[precision])
    return counted_flops(lambda: torch.mm(a, b)) * calls_per_second(lambda: torch.mm(a, b, out=out), seconds)


def loop_steps_per_second(data: str, preset: str, settings: dict, seconds: float) -> float:
    """Steps/s of train() itself, run for `seconds` into a temporary folder, logging every step."""
    with tempfile.TemporaryDirectory() as tmp:
        train(MODEL, data, os.path.join(tmp, "run"), progress=False, preset=preset, settings=settings,
              steps=10**9, time_limit=seconds, log_every=1, ckpt_every=10**9)
        return log_steps_per_second(os.path.join(tmp, "run", "log.csv"), LOOP_SKIP)


def measure(data: str, preset: str, precision: str, peak: float, seconds: float) -> dict:
    settings = {} if precision == "fp32" else {"precision": precision}
    step, config = training_step(data, MODEL, preset, settings=settings)
    flops = counted_flops(step)
    row = {"preset": preset, "precision": precision, "batch": config.batch, "window": config.window,
           "settings": config.settings, "flops_per_step": flops}
    for name, rate in (("step", calls_per_second(step, seconds)),
                       ("loop", loop_steps_per_second(data, preset, settings, seconds))):
        row[name] = {"steps_per_s": rate, **utilisation(flops, rate, peak)}
    row["steps_in_30_min"] = round(row["loop"]["steps_per_s"] * 1800)
    return row


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                        platform.machine())
    except OSError:
        return platform.processor() or platform.machine()


def table(result: dict) -> str:
    """The result as Markdown: the peaks, then a row per preset and precision."""
    peaks = ", ".join(f"{p} {v / 1e9:.1f} GFLOP/s" for p, v in result["peak_flops_per_s"].items())
    lines = [f"Peak (torch.mm, {result['matmul_size']}x{result['matmul_size']}): {peaks}.", "",
             "| preset | precision | batch x frames | GFLOP/step | step: steps/s | GFLOP/s | of peak "
             "| train loop: steps/s | GFLOP/s | of peak | loop steps in 30 min |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        cells = [r["preset"], r["precision"], f"{r['batch']} x {r['window']}", f"{r['flops_per_step'] / 1e9:.2f}"]
        for name in ("step", "loop"):
            m = r[name]
            cells += [f"{m['steps_per_s']:.2f}", f"{m['flops_per_s'] / 1e9:.1f}", f"{m['utilisation']:.0%}"]
        cells.append(f"{r['steps_in_30_min']:,}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="torch threads (and collection threads)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per measurement")
    p.add_argument("--env", default="Luxo")
    p.add_argument("--episodes", type=int, default=64, help="episodes collected when --data is not given")
    p.add_argument("--data", default=None, help="a dataset folder to train on instead of collecting")
    p.add_argument("--presets", nargs="+", default=["learned-sim", "table1"], choices=sorted(PRESETS))
    p.add_argument("--precisions", nargs="+", default=None, choices=list(DTYPES),
                   help="default: fp32, and bf16 where the CPU has AVX512-BF16 or AMX")
    p.add_argument("--matmul-size", type=int, default=2048)
    p.add_argument("--out", default="docs/bench/flops.json", help="JSON here, the table beside it as .md")
    a = p.parse_args(argv)
    if not a.seconds > 0 or a.threads < 1 or a.episodes < 1:
        p.error("--seconds, --threads and --episodes must be positive")
    flags = cpu_flags()
    has_bf16 = {f: f in flags for f in BF16_FLAGS}
    precisions = a.precisions or ["fp32"] + (["bf16"] if any(has_bf16.values()) else [])
    torch.set_num_threads(a.threads)
    load_before = os.getloadavg()
    peak = {pr: matmul_peak(a.matmul_size, pr, a.seconds) for pr in precisions}
    with tempfile.TemporaryDirectory() as tmp:
        data = a.data or str(collect(a.env, a.episodes, Path(tmp) / a.env.lower(), num_threads=a.threads,
                                     progress=False).parent)
        env = data_spec(open_episodes(data))["env"]
        rows = [measure(data, preset, pr, peak[pr], a.seconds)
                for preset in a.presets for pr in precisions]
    result = {"command": "python bench/flops.py " + shlex.join(sys.argv[1:] if argv is None else argv),
              "machine": f"{cpu_name()}, {os.cpu_count()} cores", "cpu_flags": has_bf16, "threads": a.threads,
              "torch": torch.__version__, "model": MODEL, "env": env,
              "seconds": a.seconds, "matmul_size": a.matmul_size,
              "peak_flops_per_s": peak, "rows": rows,
              "load_average_before": load_before, "load_average_after": os.getloadavg()}
    text = table(result)
    flag_words = ", ".join(f"{f}: {'yes' if v else 'no'}" for f, v in has_bf16.items())
    if a.out:
        write_text(Path(a.out).with_suffix(".md"),
                   f"# Training FLOPs and utilisation: {MODEL} on {result['env']}\n\n`{result['command']}`: "
                   f"{result['machine']} ({flag_words}), torch {result['torch']}, {a.threads} thread(s), "
                   f"{a.seconds:g} s per measurement; load average {load_before[0]:.2f} before, "
                   f"{result['load_average_after'][0]:.2f} after.\n\n{text}\n")
    return report(result, f"{result['machine']} ({flag_words}), {a.threads} thread(s)\n{text}", a.out)


if __name__ == "__main__":
    main()
