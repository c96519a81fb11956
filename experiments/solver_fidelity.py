"""Does a model trained on data of the original solver preset notice another preset?

    python experiments/solver_fidelity.py runs/luxo-ft=data/luxo_test runs/bounce2-ft=data/bounce2_test \\
        --preset fast --episodes 1000 --out experiments/results/solver_fidelity.json

Each RUN=TEST pairs a model trained on original-preset data with its held-out original-preset
test set.
The same episodes (the test set's seeds, env and policy) are collected again under --preset into
TEST_<preset> (kept and reused), and the model is scored on both by `boxlcd eval`'s evaluation:
teacher-forced bits/dim, and rollouts by mode (SSIM, pixel error, IoU). A preset the model cannot
tell from the original reads the same bits/dim on both; one that changes what the model sees
reads more on its own data.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from boxlcd.dataset import Episodes, collect
from boxlcd.files import write_json
from boxlcd.models.checkpoint import load_model
from boxlcd.models.evaluate import evaluate

KEYS = ("bits_per_dim", "ssim", "ssim_original", "pixel_error", "iou")


def preset_copy(test: Path, preset: str) -> Path:
    """The test set's episodes collected again under the preset (same env, seeds and policy)."""
    m = Episodes(test).manifest
    if m.get("overrides"):
        raise ValueError(f"{test}: has overrides {m['overrides']}; give a test set of the original preset")
    out = test.parent / f"{test.name}_{preset}"
    if not (out / "manifest.json").exists():
        collect(m["env"], m["episodes"], out, seed=m["seed"], shard_size=m["shard_size"], policy=m["policy"],
                progress=False, solver=preset)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("pairs", nargs="+", metavar="RUN=TEST")
    p.add_argument("--preset", default="fast")
    p.add_argument("--episodes", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", help="JSON file")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    rows = []
    for pair in a.pairs:
        run, test = pair.split("=", 1)
        model, _ = load_model(run, "cpu")
        test = Path(test)
        row = {"run": Path(run).name, "env": model.spec["env"], "preset": a.preset}
        for name, data in (("original", test), (a.preset, preset_copy(test, a.preset))):
            torch.manual_seed(0)
            r = evaluate(model, str(data), episodes=a.episodes)
            row[name] = {k: r[k] for k in KEYS if k in r}
        row["bits_ratio"] = row[a.preset]["bits_per_dim"] / row["original"]["bits_per_dim"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    if a.out:
        write_json(a.out, {"episodes": a.episodes, "rows": rows})


if __name__ == "__main__":
    main()
