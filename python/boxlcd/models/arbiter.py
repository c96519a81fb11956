"""The arbiter: a network trained on real video that scores how real generated video looks, as
the original testbed's evaluator did.

  boxlcd train arbiter --data DIR --out runs/arbiter-ENV     (one per env; it is data, not a model)
  boxlcd eval CKPT --data TEST --arbiter runs/arbiter-ENV    (adds the realism columns)

The network reads a window of WINDOW real frames with their proprio and encodes it into an
EMBEDDING-wide vector, from which it decodes the frames and proprio again and infers the
WINDOW - 1 actions between the frames. Trained with the loop of every model (train.py) on
windows of WINDOW frames. Its `version` is saved with it and with every score it gives: scores
from different arbiters (another version, env or training) are not comparable.

Scores, on windows of generated rollouts against windows of real episodes (`realism`):
- Fréchet distance between Gaussians fitted to the two sets of embeddings, as ignite's
  fid_score computes it: |mu_r - mu_g|^2 summed over dimensions + Tr(S_r + S_g - 2 (S_r S_g)^1/2)
  (the original testbed averaged the squared mean difference over dimensions instead of summing).
- precision and recall: the k-nearest-neighbour manifold estimates of Kynkäänniemi et al.
  (2019), k = 3: precision is the share of generated embeddings inside the real manifold (within
  the distance of some real embedding to its k-th nearest real neighbour), recall the share of
  real ones inside the generated manifold; with them density and coverage (Naeem et al. 2020),
  which one real outlier cannot fool (`manifold_scores`).
- action recovery: the mean squared error of the actions the arbiter infers from a window
  against the actions the rollout was given (robot envs only; the others ignore their actions).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from boxlcd.models.bernoulli import bernoulli_nll
from boxlcd.models.settings import settings
from boxlcd.models.spec import proprio_width
from boxlcd.ranges import check_ranges

WINDOW = 5
EMBEDDING = 256
VERSION = 1
DELTA_SCALE = 10.0
DEFAULTS = {"channels": 32, "hidden": 512, "version": VERSION, "action_weight": 1.0}
RANGES = {"channels": (1, 1024, True), "hidden": (1, 16384, True), "action_weight": (0.0, None, True)}


class Arbiter(nn.Module):
    closed_form = False
    window = WINDOW  # the frames of the windows it is trained on and scores

    def __init__(self, spec: dict, **config):
        super().__init__()
        self.spec, self.config = spec, settings(self, DEFAULTS, config)
        c = self.config
        if c["version"] != VERSION:
            raise ValueError(f"arbiter version {c['version']} is not this boxlcd's ({VERSION}): train a new one")
        check_ranges(c, RANGES)
        H, W = spec["frame_shape"]
        self.frame_shape = (H, W)
        self.P = proprio_width(spec)
        self.A = spec["action_size"]
        k = c["channels"]
        self.conv = nn.Sequential(  # the window's frames as channels; stride 2 twice: any frame size
            nn.Conv2d(WINDOW, k, 3, padding=1), nn.GELU(), nn.Conv2d(k, 2 * k, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(2 * k, 2 * k, 3, stride=2, padding=1), nn.GELU(), nn.Flatten())
        with torch.no_grad():
            flat = self.conv(torch.zeros(1, WINDOW, H, W)).shape[1]
        self.encode_mlp = nn.Sequential(nn.Linear(flat + (2 * WINDOW - 1) * self.P, c["hidden"]), nn.GELU(),
                                        nn.Linear(c["hidden"], EMBEDDING))
        self.decode_frames = nn.Sequential(nn.Linear(EMBEDDING, c["hidden"]), nn.GELU(),
                                           nn.Linear(c["hidden"], WINDOW * (H * W + self.P)))
        self.decode_actions = nn.Sequential(nn.Linear(EMBEDDING, c["hidden"]), nn.GELU(),
                                            nn.Linear(c["hidden"], (WINDOW - 1) * self.A))

    def embed(self, lcd: torch.Tensor, proprio: torch.Tensor) -> torch.Tensor:
        """(B, EMBEDDING) from frames (B, WINDOW, H, W) 0/1 and proprio (B, WINDOW, P')."""
        if lcd.shape[1:] != (WINDOW, *self.frame_shape):
            raise ValueError(f"the arbiter reads windows of {WINDOW} frames of {self.frame_shape}, "
                             f"got {tuple(lcd.shape[1:])}")
        parts = [self.conv(lcd * 2 - 1)]
        if self.P:  # and its changes, scaled up: a step moves the proprio by about a tenth of its
            # range, and the actions are read from those changes
            vector = proprio[..., :self.P]
            parts += [vector.flatten(1), DELTA_SCALE * (vector[:, 1:] - vector[:, :-1]).flatten(1)]
        return self.encode_mlp(torch.cat(parts, dim=1))

    def infer_actions(self, embedding: torch.Tensor) -> torch.Tensor:
        """(B, WINDOW - 1, A): the actions between the window's frames, as the arbiter reads them."""
        return self.decode_actions(embedding).unflatten(1, (WINDOW - 1, self.A))

    def loss(self, batch: dict):
        lcd, proprio, actions = batch["lcd"], batch["proprio"], batch["actions"]
        z = self.embed(lcd, proprio)
        B = len(lcd)
        out = self.decode_frames(z).view(B, WINDOW, -1)
        pixels = bernoulli_nll(out[..., :-self.P or None], lcd.flatten(2)).mean()
        logs = {"frames_nats": pixels.item()}
        loss = pixels
        if self.P:
            vector = F.mse_loss(out[..., -self.P:], proprio[..., :self.P])
            loss = loss + vector
            logs["proprio_mse"] = vector.item()
        if self.spec["robot"]:  # the other envs ignore their actions: nothing to infer
            act = F.mse_loss(self.infer_actions(z), actions)
            loss = loss + self.config["action_weight"] * act
            logs["action_mse"] = act.item()
        return loss, logs


def load_arbiter(path, device: str = "cpu") -> tuple[Arbiter, dict]:
    """(arbiter, what every score it gives records of it: path, version, training step)."""
    from boxlcd.models.checkpoint import load_model  # checkpoint builds models, this among them

    arbiter, ckpt = load_model(path, device, want="arbiter")
    return arbiter, {"arbiter": str(path), "arbiter_version": arbiter.config["version"], "arbiter_step": ckpt["step"]}


def check_arbiter(arbiter: Arbiter, env: str, frame_shape) -> None:
    """A clear error for an arbiter trained on another env or frame size than the data it scores."""
    if arbiter.spec["env"] != env or list(arbiter.spec["frame_shape"]) != list(frame_shape):
        raise ValueError(f"the arbiter was trained on {arbiter.spec['env']} {list(arbiter.spec['frame_shape'])} "
                         f"frames, the data is {env} {list(frame_shape)}: train one per env")


def windows_of(lcd: torch.Tensor, proprio: torch.Tensor, actions: torch.Tensor, start: int) -> dict:
    """The non-overlapping WINDOW-frame windows of whole episodes (lcd (B, T, H, W), proprio
    (B, T, P), actions (B, T - 1, A)) that begin at frame `start` or later, episode-major:
    {"lcd": (B * n, WINDOW, H, W), "proprio", "actions": (B * n, WINDOW - 1, A)}."""
    T = lcd.shape[1]
    firsts = list(range(start, T - WINDOW + 1, WINDOW))
    if not firsts:
        raise ValueError(f"episodes of {T} frames hold no window of {WINDOW} frames from frame {start}")
    pick = lambda x, n: torch.stack([x[:, s:s + n] for s in firsts], dim=1).flatten(0, 1)  # noqa: E731
    return {"lcd": pick(lcd, WINDOW), "proprio": pick(proprio, WINDOW), "actions": pick(actions, WINDOW - 1)}


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two sets of embeddings (N, D), by ignite's
    fid_score (scipy's sqrtm), in float64."""
    from ignite.metrics.gan.fid import fid_score

    real, fake = real.double().cpu(), fake.double().cpu()
    return fid_score(real.mean(0), fake.mean(0), torch.cov(real.T), torch.cov(fake.T))


def kth_neighbour_distance(x: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Each row's distance to its k-th nearest other row."""
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)
        out.append(d.kthvalue(k + 1, dim=1).values)  # + 1: the row itself is at distance 0
    return torch.cat(out)


def balls_holding(reference: torch.Tensor, radii: torch.Tensor, query: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """For each `query` row, how many reference rows j hold it within radii[j]."""
    counts = []
    for i in range(0, len(query), chunk):
        counts.append((torch.cdist(query[i:i + chunk], reference) <= radii[None]).sum(dim=1))
    return torch.cat(counts)


def nearest_distance(x: torch.Tensor, others: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Each row's distance to its nearest row of `others`."""
    return torch.cat([torch.cdist(x[i:i + chunk], others).min(dim=1).values for i in range(0, len(x), chunk)])


def manifold_scores(real: torch.Tensor, fake: torch.Tensor, k: int = 3, real_radii: torch.Tensor | None = None) -> dict:
    """k-NN scores of `fake` embeddings against `real` ones: precision and recall (Kynkäänniemi
    et al. 2019), density and coverage (Naeem et al. 2020). Real row j's ball has the radius of
    its distance to its k-th nearest real neighbour (fake rows' balls likewise, for recall).
    - precision: share of fake rows inside some real ball; recall: share of real rows inside
      some fake ball.
    - density: real balls holding a fake row, per fake row, over k (about 1 for a fake set
      drawn as the real one); coverage: share of real balls holding some fake row.
    One real outlier, whose ball is large, can hold a whole collapsed fake set: precision
    then reads near 1 while density stays low (the reason Naeem et al. proposed them).
    real_radii: kth_neighbour_distance(real, k), when several fake sets meet one real set."""
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"k-NN scores with k = {k} need more than {k} embeddings in each set")
    real, fake = real.double().cpu(), fake.double().cpu()
    real_radii = kth_neighbour_distance(real, k) if real_radii is None else real_radii
    held = balls_holding(real, real_radii, fake)
    return {"precision": float((held > 0).double().mean()),
            "recall": float((balls_holding(fake, kth_neighbour_distance(fake, k), real) > 0).double().mean()),
            "density": float(held.double().sum() / (k * len(fake))),
            "coverage": float((nearest_distance(real, fake) <= real_radii).double().mean())}


# What RealismSums.scores gives, each also with a `_real` twin (the floor); a saved row that
# lacks one was scored by an older version of this file.
SCORES = ("fid", "precision", "recall", "density", "coverage", "action_error")


class RealismSums:
    """Collects, batch by batch of episodes, the arbiter's embeddings of real and generated
    windows and its action errors on them; `scores` compares the generated windows of the first
    half of the episodes with the real windows of the second half, and (the floor) the real
    windows of both halves, so no score gains from the generated and real windows sharing a
    prompt, and both comparisons use sets of one size."""

    def __init__(self, arbiter: Arbiter, prompt: int):
        self.arbiter, self.prompt = arbiter, prompt
        self.real, self.fake, self.errors = [], [], {"real": [], "generated": []}

    @torch.no_grad()
    def add(self, batch: dict, lcd: torch.Tensor, proprio: torch.Tensor) -> None:
        """batch: the real episodes; lcd, proprio: a rollout of them (the same actions)."""
        for name, frames, vectors, store in (("real", batch["lcd"], batch["proprio"], self.real),
                                             ("generated", lcd, proprio, self.fake)):
            w = windows_of(frames, vectors, batch["actions"], self.prompt)
            z = self.arbiter.embed(w["lcd"], w["proprio"])
            per_episode = len(w["lcd"]) // len(frames)
            store.append(z.view(len(frames), per_episode, -1).cpu())
            if self.arbiter.spec["robot"]:
                err = (self.arbiter.infer_actions(z) - w["actions"]).pow(2).mean(dim=(1, 2))
                self.errors[name].append(err.cpu())

    def scores(self) -> dict:
        real, fake = torch.cat(self.real), torch.cat(self.fake)
        half = len(real) // 2
        if half < 1:
            raise ValueError("realism scores need at least 2 episodes (half generated, half real)")
        mine, reference, generated = (real[:half].flatten(0, 1), real[half:2 * half].flatten(0, 1),
                                      fake[:half].flatten(0, 1))
        error = {k: float(torch.cat(v).mean()) if v else math.nan for k, v in self.errors.items()}
        radii = kth_neighbour_distance(reference.double(), 3)
        return {"fid": frechet_distance(reference, generated), "fid_real": frechet_distance(reference, mine),
                **manifold_scores(reference, generated, real_radii=radii),
                **{f"{k}_real": v for k, v in manifold_scores(reference, mine, real_radii=radii).items()},
                "action_error": error["generated"], "action_error_real": error["real"],
                "realism_windows": len(generated)}
