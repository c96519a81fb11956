"""Dataset speed: collecting episodes (engine vs writing) and loading windows into torch.

    python bench/dataset_speed.py --env Bounce --episodes 10000 --out dataset_speed.json

Collect: the time of boxlcd.dataset.collect, split into the engine's share (collect_shard)
and the writing share (write_shard: .npy files and checksums). Load: windows of 16 frames
per second from a shuffled DataLoader in one process (num_workers=0, one torch thread).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import boxlcd.dataset.collector as collect_module
import boxlcd.dataset.store as store


def timed(fn, bucket):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            bucket.append(time.perf_counter() - start)
    return wrapper


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="Bounce")
    p.add_argument("--episodes", type=int, default=10000)
    p.add_argument("--shard-size", type=int, default=1000)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--load-windows", type=int, default=500000)
    p.add_argument("--out", default=None)
    args = p.parse_args()

    engine, writing = [], []
    collect_module.collect_shard = timed(collect_module.collect_shard, engine)
    collect_module.write_shard = timed(store.write_shard, writing)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        collect_module.collect(args.env, args.episodes, Path(tmp) / "d", shard_size=args.shard_size, progress=False)
        total = time.perf_counter() - start
        data = store.Episodes(Path(tmp) / "d")
        frames = args.episodes * (data.ep_len + 1)
        result = {"env": args.env, "episodes": args.episodes, "frames": frames, "collect_s": total,
                  "engine_s": sum(engine), "writing_s": sum(writing), "frames_per_s": frames / total}
        print(f"collect {args.episodes} {args.env} episodes ({frames:,} frames): {total:.2f} s, "
              f"{frames / total:,.0f} frames/s; engine {sum(engine) / total:.0%}, writing {sum(writing) / total:.0%}")

        import torch

        from boxlcd.dataset.windows import Windows

        torch.set_num_threads(1)
        windows = Windows(data, window=args.window)
        loader = windows.loader(batch_size=args.batch, shuffle=True, num_workers=0)
        n, start = 0, time.perf_counter()
        while n < args.load_windows:
            for batch in loader:
                n += len(batch["lcd"])
                if n >= args.load_windows:
                    break
        load_s = time.perf_counter() - start
        result.update({"window": args.window, "batch": args.batch, "windows_per_s": n / load_s})
        print(f"load: {n / load_s:,.0f} windows/s of {args.window} frames (batch {args.batch}, one process)")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
