"""How a pixel policy reads its frames: `boxlcd rl train --obs pixels --set encoder=conv`.

encoder=mlp (the default) gives the policy's vector (boxlcd.rl.sb3.PolicyInput: the frame, the
goal's frame and the previous frames, as bits) straight to SB3's policy and value MLPs, each of
which reads all of it through its own first layer. encoder=conv reads it once, as a stack of
images, through a small strided conv net that both nets share (SB3's features extractor); the
MLPs (--set net) then read its features. Why: a conv sees the robot the same wherever it
stands in the frame. On a CPU its update costs more time than the two first layers it replaces,
and it learned neither robot's body goal better (docs/learned-sims.md, pixels in the engine).
"""
from __future__ import annotations

import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

ENCODERS = ("mlp", "conv")
FEATURES = 256  # the conv encoder's output width


class FrameEncoder(BaseFeaturesExtractor):
    """(batch, frames x rows x cols) bits -> (batch, FEATURES): two strided convs (a frame's
    rows and columns halved twice), then a linear layer."""

    def __init__(self, observation_space, rows: int, cols: int, features: int = FEATURES):
        super().__init__(observation_space, features)
        size = int(observation_space.shape[0])
        if rows < 1 or cols < 1 or size % (rows * cols):
            raise ValueError(f"the conv encoder reads whole {rows}x{cols} frames; the policy's input has {size} values")
        self.shape = (size // (rows * cols), rows, cols)
        self.conv = torch.nn.Sequential(
            torch.nn.Conv2d(self.shape[0], 16, 4, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.nn.ReLU(), torch.nn.Flatten())
        with torch.no_grad():
            width = self.conv(torch.zeros(1, *self.shape)).shape[1]
        self.linear = torch.nn.Sequential(torch.nn.Linear(width, features), torch.nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.conv(x.reshape(-1, *self.shape)))


def check_encoder(encoder: str, obs: str) -> None:
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}")
    if encoder == "conv" and obs != "pixels":
        raise ValueError("encoder conv reads frames: it needs --obs pixels")


def policy_kwargs(encoder: str, vec) -> dict:
    """SB3 policy_kwargs for the encoder, on an SB3VecEnv (its frames' shape)."""
    if encoder == "mlp":
        return {}
    rows, cols = vec.task.frame_shape[0], vec.inputs.frame_cols
    return {"features_extractor_class": FrameEncoder, "features_extractor_kwargs": {"rows": rows, "cols": cols}}
