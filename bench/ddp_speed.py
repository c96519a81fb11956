"""World-model training samples/s on 1 and more processes (torch.distributed, --batch per process).

  python bench/ddp_speed.py DATA [--model frame_transformer] [--procs 1 2] [--batch 16] [--steps 60]
                            [--device cpu|cuda] [--set KEY=VALUE ...] [--out ddp.json]

Each configuration trains a fresh run for --steps steps (the first --skip steps, start-up and
the first allocations, are left out of the timing) with one torch thread per process, and
reports episode windows per second over all processes. On a CPU the processes share its
cores: K processes on K cores is the case to compare.
"""
from __future__ import annotations

import argparse
import os
import tempfile

import torch

from boxlcd.models import distributed
from boxlcd.models.train import _train_with_threads
from boxlcd.options import key_text as key_value, parse_value
from boxlcd.analysis import log_steps_per_second, report


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data")
    p.add_argument("--model", default="frame_transformer")
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--batch", type=int, default=16, help="per process")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--skip", type=int, default=10)
    p.add_argument("--device", default="cpu")
    p.add_argument("--set", type=key_value, action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    config = {k: parse_value(v) for k, v in a.set}
    rows = []
    for procs in a.procs:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "run")
            kwargs = dict(steps=a.steps, batch=a.batch, device=a.device, log_every=1, progress=False, **config)
            if procs == 1:
                _train_with_threads(1, (a.model, a.data, out), kwargs)
            else:
                distributed.launch(procs, _train_with_threads, 1, (a.model, a.data, out), kwargs)
            rows.append({"processes": procs, "batch_per_process": a.batch,
                         "samples_per_s": log_steps_per_second(os.path.join(out, "log.csv"), a.skip) * a.batch * procs})
    base = rows[0]["samples_per_s"]
    for r in rows:
        r["speedup"] = r["samples_per_s"] / base
    result = {"model": a.model, "data": os.path.basename(os.path.normpath(a.data)), "device": a.device,
              "config": config, "cpus": os.cpu_count(), "torch": torch.__version__, "rows": rows}
    line = "; ".join(f"{r['processes']} x {r['batch_per_process']}: {r['samples_per_s']:.1f} windows/s "
                     f"({r['speedup']:.2f}x)" for r in rows)
    return report(result, f"{a.model} on {a.device}: {line}", a.out)


if __name__ == "__main__":
    main()
