"""Calibration baseline: every pixel an independent Bernoulli, fit by counting on train frames.

Its bits/dim is the floor any model that learned nothing about dynamics should beat.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from boxlcd.models.bernoulli import bernoulli_nll, pick
from boxlcd.models.rollout import Stepper
from boxlcd.models.settings import settings


class Marginal(Stepper, nn.Module):
    closed_form = True
    bound = False

    def __init__(self, spec: dict, **config):
        super().__init__()
        self.spec, self.config = spec, settings(self, {}, config)
        H, W = spec["frame_shape"]
        self.register_buffer("ones", torch.zeros(H, W, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def fit(self, batches) -> None:
        """Adds the frames of each batch to the counts (call once over the training windows)."""
        for batch in batches:
            lcd = batch["lcd"].to(torch.float64)
            self.ones += lcd.sum(dim=(0, 1))
            self.count += lcd.shape[0] * lcd.shape[1]

    def logits(self) -> torch.Tensor:
        """Laplace-smoothed per-pixel log-odds: p = (ones + 1) / (count + 2)."""
        p = (self.ones + 1) / (self.count + 2)
        return torch.log(p / (1 - p)).float()

    def frame_nll(self, batch: dict) -> torch.Tensor:
        lcd = batch["lcd"]
        return bernoulli_nll(self.logits().expand_as(lcd), lcd).sum(dim=(2, 3))

    def loss(self, batch: dict):
        nll = self.frame_nll(batch).mean() / batch["lcd"][0, 0].numel()
        return nll, {"nll_per_pixel": nll.item()}

    def start(self, prompt: dict) -> dict:
        return {"proprio": prompt["proprio"][:, -1].clone()}

    @torch.no_grad()
    def step(self, state: dict, actions: torch.Tensor, temperature: float = 0.0, generator=None):
        """A frame drawn from the marginal, whatever came before; the proprio stays the last."""
        B = len(state["proprio"])
        frame = pick(self.logits().expand(B, *self.logits().shape), temperature, generator)
        return frame, state["proprio"], state
