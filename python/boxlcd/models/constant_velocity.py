"""Control: the picture keeps moving as it last moved. The next frame is the last one shifted by
the whole-pixel step its lit pixels' centre took between the last two frames, each pixel then
flipping with a per-pixel probability counted on train frames against that guess. Frame 0 comes
from the per-pixel marginal, frame 1 from the last frame unshifted (no step seen yet).

A violation-of-expectation control (boxlcd.voe): it is surprised by what breaks constant motion
(a bounce, a fall starting) as much as by what breaks physics.
"""
from __future__ import annotations

import torch

from boxlcd.models.bernoulli import bernoulli_nll, pick
from boxlcd.models.copy_last import CopyLast


def centre(frames: torch.Tensor) -> torch.Tensor:
    """(B, 2) row and column of the lit pixels' centre of (B, H, W) frames; NaN where none is lit."""
    H, W = frames.shape[-2:]
    rows = torch.arange(H, dtype=frames.dtype, device=frames.device)
    cols = torch.arange(W, dtype=frames.dtype, device=frames.device)
    lit = frames.sum(dim=(1, 2))
    return torch.stack([(frames.sum(2) * rows).sum(1) / lit, (frames.sum(1) * cols).sum(1) / lit], 1)


def shifted(frames: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """Each (H, W) frame moved by its whole-pixel (rows, cols) step; pixels moved in are dark."""
    B, H, W = frames.shape
    rows = torch.arange(H, device=frames.device).view(1, H, 1) - step[:, 0].view(B, 1, 1)
    cols = torch.arange(W, device=frames.device).view(1, 1, W) - step[:, 1].view(B, 1, 1)
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
    source = (rows.clamp(0, H - 1) * W + cols.clamp(0, W - 1)).reshape(B, H * W)
    return torch.gather(frames.reshape(B, H * W), 1, source).reshape(B, H, W) * inside


def guess(before: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """The next frame under constant motion, from the two frames before it (B, H, W)."""
    step = torch.nan_to_num(centre(last) - centre(before)).round().long()
    return shifted(last, step)


class ConstantVelocity(CopyLast):
    """CopyLast's counts and flips, against the constant-motion guess instead of the last frame."""

    def guesses(self, lcd: torch.Tensor) -> torch.Tensor:
        """(B, T - 1, H, W): the guess for frames 1..T-1 of (B, T, H, W) episodes."""
        B, T, H, W = lcd.shape
        if T < 3:
            return lcd[:, :T - 1]
        later = guess(lcd[:, :-2].reshape(-1, H, W), lcd[:, 1:-1].reshape(-1, H, W)).reshape(B, T - 2, H, W)
        return torch.cat([lcd[:, :1], later], 1)  # frame 1: the last frame, no step seen yet

    @torch.no_grad()
    def fit(self, batches) -> None:
        for batch in batches:
            lcd = batch["lcd"].to(torch.float64)
            self.first.fit([{"lcd": lcd[:, :1]}])
            self.flips += (self.guesses(lcd) != lcd[:, 1:]).sum(dim=(0, 1))
            self.count += lcd.shape[0] * (lcd.shape[1] - 1)

    def frame_nll(self, batch: dict) -> torch.Tensor:
        lcd = batch["lcd"]
        first = bernoulli_nll(self.first.logits().expand_as(lcd[:, :1]), lcd[:, :1])
        rest = bernoulli_nll(self.next_logits(self.guesses(lcd)), lcd[:, 1:])
        return torch.cat([first, rest], dim=1).sum(dim=(2, 3))

    def start(self, prompt: dict) -> dict:
        lcd = prompt["lcd"]
        before = lcd[:, -2] if lcd.shape[1] > 1 else lcd[:, -1]
        return {"before": before.clone(), "frame": lcd[:, -1].clone(), "proprio": prompt["proprio"][:, -1].clone()}

    @torch.no_grad()
    def step(self, state: dict, actions: torch.Tensor, temperature: float = 0.0, generator=None):
        """The guess with flips; the proprio stays the last one (the robot does not move)."""
        frame = pick(self.next_logits(guess(state["before"], state["frame"])), temperature, generator)
        state["before"], state["frame"] = state["frame"], frame
        return frame, state["proprio"], state
