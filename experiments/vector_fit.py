"""How well a world model predicts each key of its vector one step ahead, against copying it
(the per-key one-step errors in docs/learned-sims.md).

  python experiments/vector_fit.py RUN --data DATASET [--episodes 256] [--out fit.json]

Teacher-forced (the model reads the true frames and vectors up to t and predicts t + 1), over
the last --episodes episodes of DATASET (whole episodes; pass data the model did not train on).
For each key of the vector the model predicts (the proprio, or full_state with predict_state)
it reports the root mean squared error of the model's next value and of copying the last one
(the error of predicting no motion). A ratio near 1 is a key the model has not learned to move:
the UrchinCube model's cube x and y were, while its robot's positions were at about 0.25
(boxlcd.analysis.vector_fit).
"""
from __future__ import annotations

import argparse

import torch

from boxlcd.analysis import vector_fit
from boxlcd.analysis import report


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a world model's run folder")
    p.add_argument("--data", required=True, help="a dataset of the model's env")
    p.add_argument("--episodes", type=int, default=256, help="the dataset's last N episodes")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    r = vector_fit(a.run, a.data, a.episodes, a.batch)
    line = f"{r['env']} one-step rmse, model / copying the last value:\n" + "\n".join(
        f"  {k:24s} {v['model_rmse']:.4f} / {v['copy_last_rmse']:.4f}" for k, v in r["keys"].items())
    return report(r, line, a.out)


if __name__ == "__main__":
    main()
