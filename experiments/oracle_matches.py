"""How often the posterior oracle finds a starting pose for a test episode (the oracle's
coverage in docs/models.md).

  python experiments/oracle_matches.py DATA [--episodes 1000] [--prior-samples N] [--out matches.json]

The oracle (boxlcd/models/oracle.py) keeps the poses, among its 4 million draws from the env's
reset, whose first frame equals the episode's. An episode with none is predicted by holding its
last prompt frame, as copy-last does, so the oracle's row bounds a model only where nearly every
episode has matches. Reports the share of episodes with at least one, and with the full 64
(boxlcd.analysis.oracle_coverage).
"""
from __future__ import annotations

import argparse

from boxlcd.analysis import oracle_coverage
from boxlcd.models.oracle import DEFAULTS
from boxlcd.analysis import report


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="a test dataset folder (boxlcd collect)")
    p.add_argument("--episodes", type=int, default=1000)
    p.add_argument("--prior-samples", type=int, default=DEFAULTS["prior_samples"], help="the oracle's draws")
    p.add_argument("--prior-seed", type=int, default=DEFAULTS["prior_seed"])
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    r = oracle_coverage(a.data, a.episodes, a.prior_samples, a.prior_seed)
    line = (f"{r['env']}: {r['with_a_match']:.3f} of {r['episodes']} episodes have a matching pose, "
            f"{r['with_all_matches']:.3f} the full {r['matches']}; mean {r['mean_matches']:.1f}")
    return report(r, line, a.out)


if __name__ == "__main__":
    main()
