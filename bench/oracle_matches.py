"""How often the posterior oracle finds a starting pose for a test episode.

  python bench/oracle_matches.py DATA [--episodes 1000] [--prior-samples N] [--out matches.json]

The oracle (boxlcd/models/oracle.py) keeps the poses, among its 4 million draws from the env's
reset, whose first frame equals the episode's. An episode with none is predicted by holding its
last prompt frame, as copy-last does, so the oracle's row bounds a model only where nearly every
episode has matches. Reports the share of episodes with at least one, and with the full 64.
"""
from __future__ import annotations

import argparse

import numpy as np

from boxlcd.dataset.store import Episodes
from boxlcd.models.spec import data_spec
from boxlcd.models.oracle import DEFAULTS, PosteriorOracle
from results_io import finish  # bench/results_io.py: python puts bench/ on the path


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="a test dataset folder (boxlcd collect)")
    p.add_argument("--episodes", type=int, default=1000)
    p.add_argument("--prior-samples", type=int, default=DEFAULTS["prior_samples"], help="the oracle's draws")
    p.add_argument("--prior-seed", type=int, default=DEFAULTS["prior_seed"])
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    episodes = Episodes(a.data)
    m = episodes.manifest
    n = min(a.episodes, m["episodes"])
    first = np.stack([np.asarray(episodes.episode(i)["frames"][0]) for i in range(n)])
    oracle = PosteriorOracle(data_spec(episodes), prior_samples=a.prior_samples, prior_seed=a.prior_seed,
                             chunk=min(DEFAULTS["chunk"], a.prior_samples))
    found = np.array([len(poses) for poses in oracle.matching_poses(first)])
    result = {"env": m["env"], "data": a.data, "episodes": n, "prior_samples": a.prior_samples,
              "with_a_match": float(np.mean(found > 0)), "with_all_matches": float(np.mean(found >= oracle.config["matches"])),
              "mean_matches": float(found.mean())}
    line = (f"{m['env']}: {result['with_a_match']:.3f} of {n} episodes have a matching pose, "
            f"{result['with_all_matches']:.3f} the full {oracle.config['matches']}; mean {result['mean_matches']:.1f}")
    return finish(result, line, a.out)


if __name__ == "__main__":
    main()
