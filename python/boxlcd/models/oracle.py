"""Reference, not a learned model: the best rollout the prompt allows, found with the simulator.

For envs without a robot every episode starts at rest from a random pose, so the prompt frames
are all there is to know, and what they leave open is irreducible. The oracle samples many
starting poses from the env's own reset distribution (seeds far from any dataset's), keeps the
poses whose first frame equals the episode's, simulates them under the episode's actions, drops
those whose frames disagree with the rest of the prompt, and predicts each later pixel's
majority over the survivors (decode="medoid": the survivor whose frames differ least from the
others; temperature > 0: one survivor's frames, a posterior sample).

Its scores bound what a model can reach under the evaluation's protocol (mode decoding from k
real frames), up to the sampling error of `prior_samples`: a model scoring below the oracle has
room to learn; none can score far above it. No likelihood: bits/dim is reported as None (null in eval.json).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from boxlcd.models.settings import settings

DEFAULTS = {"prior_samples": 4_000_000, "matches": 64, "prior_seed": 1 << 40, "chunk": 1 << 16,
            "decode": "majority"}
DECODES = ("majority", "medoid")


class PosteriorOracle(nn.Module):
    closed_form = True
    bound = False

    def __init__(self, spec: dict, **config):
        super().__init__()
        self.spec, self.config = spec, settings(self, DEFAULTS, config)
        if spec["robot"]:
            raise ValueError(f"the oracle needs an env without a robot ({spec['env']} has one): "
                             "a robot's pose cannot be matched by sampling starting poses")
        if self.config["decode"] not in DECODES:
            raise ValueError(f"oracle decode must be one of {DECODES}, got {self.config['decode']!r}")

    def fit(self, batches) -> None:
        """Nothing to fit: the simulator is the model (the lazy batches are never loaded)."""

    def frame_nll(self, batch: dict) -> torch.Tensor:
        return torch.full(batch["lcd"].shape[:2], float("nan"))

    def _make(self, num_envs: int):
        import boxlcd

        return boxlcd.make(self.spec["env"], num_envs=num_envs, num_threads=0, **self.spec.get("overrides", {}))

    def matching_poses(self, first_frames: np.ndarray) -> list[list[np.ndarray]]:
        """Up to `matches` starting full_states per episode whose first frame equals the episode's."""
        c = self.config
        keys = [f.tobytes() for f in first_frames]
        wanted = {k: [] for k in keys}
        env = self._make(c["chunk"])
        row = np.dtype((np.void, first_frames[0].nbytes))
        want_keys = np.frombuffer(b"".join(wanted), dtype=row)
        for start in range(0, c["prior_samples"], c["chunk"]):
            obs = env.reset(seed=c["prior_seed"] + start)
            frames = np.ascontiguousarray(obs["lcd"]).reshape(len(obs["lcd"]), -1).view(row).ravel()
            for i in np.flatnonzero(np.isin(frames, want_keys)):
                bucket = wanted[frames[i].tobytes()]
                if len(bucket) < c["matches"]:
                    bucket.append(obs["full_state"][i].copy())
            if all(len(b) >= c["matches"] for b in wanted.values()):
                break
        env.close()
        return [wanted[k] for k in keys]

    @torch.no_grad()
    def sample(self, batch: dict, prompt: int, temperature: float = 0.0, generator=None) -> torch.Tensor:
        import boxlcd

        lcd = batch["lcd"].cpu()
        B, T, H, W = lcd.shape
        truth = lcd.numpy().astype(np.uint8)
        packed = np.packbits(truth[:, 0], axis=-1)  # the engine's frame layout
        poses = self.matching_poses(packed)
        owner = np.concatenate([np.full(len(p), e) for e, p in enumerate(poses)]).astype(np.int64)
        out = lcd.clone()
        if len(owner) == 0:  # no pose found for any episode: hold the last prompt frame
            out[:, prompt:] = lcd[:, prompt - 1:prompt]
            return out.to(batch["lcd"].device)
        env = self._make(len(owner))
        obs = env.reset(full_state=np.stack([s for p in poses for s in p]))
        actions = batch["actions"].cpu().numpy()[owner]
        runs = np.empty((len(owner), T, H, W), np.uint8)
        runs[:, 0] = boxlcd.unpack(obs["lcd"], cols=W)
        for t in range(1, T):
            obs = env.step(actions[:, t - 1])[0]
            runs[:, t] = boxlcd.unpack(obs["lcd"], cols=W)
        env.close()
        agrees = (runs[:, :prompt] == truth[owner, :prompt]).all(axis=(1, 2, 3))
        pick = np.random.default_rng(int(torch.randint(1 << 30, (1,), generator=generator)))
        for e in range(B):
            mine = np.flatnonzero(owner == e)
            if len(mine) == 0:
                out[e, prompt:] = lcd[e, prompt - 1]
                continue
            kept = mine[agrees[mine]] if agrees[mine].any() else mine
            if temperature > 0:
                rollout = runs[pick.choice(kept), prompt:]
            elif self.config["decode"] == "medoid":
                rollout = runs[kept[medoid(runs[kept, prompt:])], prompt:]
            else:
                rollout = (runs[kept, prompt:].mean(axis=0) > 0.5).astype(np.uint8)
            out[e, prompt:] = torch.from_numpy(rollout).float()
        return out.to(batch["lcd"].device)


def medoid(rollouts: np.ndarray) -> int:
    """Index of the rollout with the fewest pixels differing from all the others: one whole,
    self-consistent future (a per-pixel majority can blend two)."""
    x = torch.from_numpy(rollouts.reshape(len(rollouts), -1)).float()
    differ = x @ (1 - x).T + (1 - x) @ x.T
    return int(differ.sum(1).argmin())
