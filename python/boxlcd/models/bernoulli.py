"""Frames as Bernoulli pixels: their negative log-likelihood, and 0/1 picked from logits."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LN2 = math.log(2.0)  # nats per bit


def bernoulli_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-element -log p(target) in nats for Bernoulli logits."""
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


def pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    """0/1 from Bernoulli logits: the mode when temperature is 0, else a sample."""
    if temperature <= 0:
        return (logits > 0).to(logits.dtype)
    p = torch.sigmoid(logits / temperature)
    return (torch.rand(p.shape, generator=generator, device="cpu").to(p.device) < p).to(logits.dtype)
