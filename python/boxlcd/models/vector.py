"""The per-frame vector beside the frame (proprio or full_state), and its loss."""
from __future__ import annotations

import torch

from boxlcd.models.spec import proprio_width


class Vector:
    """The per-frame vector a model reads and predicts beside the frame: the proprio, or with
    predict_state the whole full_state (which holds the proprio: the robot's entries)."""

    def __init__(self, spec: dict, predict_state: bool):
        if predict_state and "state_keys" not in spec:
            raise ValueError("predict_state needs a spec with state_keys (a model trained before they were saved)")
        self.key = "full_state" if predict_state else "proprio"
        self.width = len(spec["state_keys"]) if predict_state else proprio_width(spec)
        self.proprio_index = spec["proprio_index"] if predict_state else None

    def of(self, batch: dict) -> torch.Tensor:
        return batch[self.key]

    def proprio(self, vector: torch.Tensor) -> torch.Tensor:
        """The proprio in a vector (a model without a width carries the prompt's along)."""
        if self.proprio_index is None:
            return vector
        if not self.proprio_index:  # no robot: the env's proprio is a single 0
            return vector.new_zeros(*vector.shape[:-1], 1)
        return vector[..., self.proprio_index]


def vector_mse(predicted: torch.Tensor, target: torch.Tensor, balanced: bool = False) -> torch.Tensor:
    """Mean squared error of predicted vectors (B, T, P) against the batch's (B, T, P).

    balanced: each key's error is divided by how much that key changes from one step to the
    next in this batch (its step variance, relative to the keys' mean), so a key that moves
    little counts as much as one that moves a lot. Plain MSE let a robot's angles (step std
    0.2) drown a cube's x and y (0.01): a model learned the robot and left the cube nearly
    still. A key's weight is capped at 1000x the mean's, so a key that barely moves in a batch
    does not blow up; a batch where nothing moves weighs every key 1. Tensor ops only: no
    device sync in the training step."""
    squared = (predicted - target) ** 2
    if not balanced or target.shape[1] < 2:
        return squared.mean()
    step_var = (target[:, 1:] - target[:, :-1]).flatten(0, 1).var(dim=0, correction=0).detach()
    mean_var = step_var.mean()
    tiny = torch.finfo(step_var.dtype).tiny
    weight = (mean_var + tiny) / (step_var.clamp_min(1e-3 * mean_var) + tiny)
    return (squared * weight).mean()
