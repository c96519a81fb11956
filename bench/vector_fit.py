"""How well a world model predicts each key of its vector one step ahead, against copying it.

  python bench/vector_fit.py RUN --data DATASET [--episodes 256] [--out fit.json]

Teacher-forced (the model reads the true frames and vectors up to t and predicts t + 1), over
the last --episodes episodes of DATASET (whole episodes; pass data the model did not train on).
For each key of the vector the model predicts (the proprio, or full_state with predict_state)
it reports the root mean squared error of the model's next value and of copying the last one
(the error of predicting no motion). A ratio near 1 is a key the model has not learned to move:
the UrchinCube model's cube x and y were, while its robot's positions were at about 0.25.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from boxlcd.dataset import Episodes
from boxlcd.dataset.windows import Windows
from boxlcd.models.checkpoint import load_model
from boxlcd.models.spec import prepare
from results_io import finish  # bench/results_io.py: python puts bench/ on the path


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a world model's run folder")
    p.add_argument("--data", required=True, help="a dataset of the model's env")
    p.add_argument("--episodes", type=int, default=256, help="the dataset's last N episodes")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    model, ckpt = load_model(a.run)
    if not hasattr(model, "_teacher_forced") or not model.vector.width:
        raise SystemExit(f"{a.run}: not a frame transformer that predicts proprio or full_state "
                         f"(it is {ckpt['model_name']})")
    data = Episodes(a.data)
    if data.manifest["env"] != ckpt["spec"]["env"]:
        raise SystemExit(f"{a.data} holds {data.manifest['env']}, the model learned {ckpt['spec']['env']}")
    key = model.vector.key
    keys = list(data.manifest["state_keys"] if key == "full_state" else data.manifest["proprio_keys"])
    n = min(a.episodes, len(data))
    windows = Windows(data, window=data.ep_len + 1, episodes=np.arange(len(data) - n, len(data)))
    model_sq, copy_sq, count = 0.0, 0.0, 0
    with torch.no_grad():
        for start in range(0, n, a.batch):
            batch = prepare(windows.__getitems__(list(range(start, min(n, start + a.batch)))), "cpu")
            _, predicted = model._teacher_forced(batch)
            truth = batch[key]
            model_sq = model_sq + ((predicted[:, 1:] - truth[:, 1:]) ** 2).sum((0, 1))
            copy_sq = copy_sq + ((truth[:, :-1] - truth[:, 1:]) ** 2).sum((0, 1))
            count += truth[:, 1:].shape[0] * truth[:, 1:].shape[1]
    model_rmse = (model_sq / count).sqrt().tolist()
    copy_rmse = (copy_sq / count).sqrt().tolist()
    per_key = {k: {"model_rmse": m, "copy_last_rmse": c, "ratio": m / c if c else None}
               for k, m, c in zip(keys, model_rmse, copy_rmse)}
    result = {"run": a.run, "data": a.data, "episodes": n, "vector": key, "keys": per_key}
    line = f"{ckpt['spec']['env']} one-step rmse, model / copying the last value:\n" + "\n".join(
        f"  {k:24s} {v['model_rmse']:.4f} / {v['copy_last_rmse']:.4f}" for k, v in per_key.items())
    return finish(result, line, a.out)


if __name__ == "__main__":
    main()
