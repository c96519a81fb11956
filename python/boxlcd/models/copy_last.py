"""Calibration baseline: the next frame is the last one, each pixel flipping with a per-pixel
probability counted on train frames; frame 0 comes from the per-pixel marginal.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from boxlcd.models.bernoulli import bernoulli_nll, pick
from boxlcd.models.marginal import Marginal
from boxlcd.models.rollout import Stepper
from boxlcd.models.settings import settings


class CopyLast(Stepper, nn.Module):
    closed_form = True
    bound = False

    def __init__(self, spec: dict, **config):
        super().__init__()
        self.spec, self.config = spec, settings(self, {}, config)
        H, W = spec["frame_shape"]
        self.first = Marginal(spec)  # frames 0 only
        self.register_buffer("flips", torch.zeros(H, W, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def fit(self, batches) -> None:
        for batch in batches:
            lcd = batch["lcd"].to(torch.float64)
            self.first.fit([{"lcd": lcd[:, :1]}])
            self.flips += (lcd[:, 1:] != lcd[:, :-1]).sum(dim=(0, 1))
            self.count += lcd.shape[0] * (lcd.shape[1] - 1)

    def flip_prob(self) -> torch.Tensor:
        return ((self.flips + 1) / (self.count + 2)).float()

    def next_logits(self, last: torch.Tensor) -> torch.Tensor:
        f = self.flip_prob()
        p = last * (1 - f) + (1 - last) * f
        return torch.log(p) - torch.log1p(-p)

    def frame_nll(self, batch: dict) -> torch.Tensor:
        lcd = batch["lcd"]
        first = bernoulli_nll(self.first.logits().expand_as(lcd[:, :1]), lcd[:, :1])
        rest = bernoulli_nll(self.next_logits(lcd[:, :-1]), lcd[:, 1:])
        return torch.cat([first, rest], dim=1).sum(dim=(2, 3))

    def loss(self, batch: dict):
        nll = self.frame_nll(batch).mean() / batch["lcd"][0, 0].numel()
        return nll, {"nll_per_pixel": nll.item()}

    def start(self, prompt: dict) -> dict:
        return {"frame": prompt["lcd"][:, -1].clone(), "proprio": prompt["proprio"][:, -1].clone()}

    @torch.no_grad()
    def step(self, state: dict, actions: torch.Tensor, temperature: float = 0.0, generator=None):
        """The last frame with flips; the proprio stays the last one (the robot does not move)."""
        state["frame"] = pick(self.next_logits(state["frame"]), temperature, generator)
        return state["frame"], state["proprio"], state
