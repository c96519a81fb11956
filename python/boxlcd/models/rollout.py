"""The model contract, and the one rollout loop over its step contract.

A model is an nn.Module with
  spec, config                     how to rebuild it (saved with checkpoints)
  loss(batch) -> (loss, logs)      the training objective on a batch of windows
  frame_nll(batch) -> (B, T)       teacher-forced negative log-likelihood of each frame, in
                                   nats summed over its pixels (an upper bound when
                                   `bound` is True: the RSSM's ELBO, the binary AE's code bound)
  fit(batches)                     only for `closed_form` models: fit by counting
and, for every model that can stand in for the engine (all but the oracle), the step contract:
  start(prompt) -> state           prompt: "lcd" (B, k, H, W), "actions" (B, k - 1, A) (those
                                   between the prompt frames), "proprio" (B, k, P) and, for
                                   models with predict_state, "full_state" (B, k, D)
  step(state, actions, temperature, generator) -> (frame, proprio, state)
                                   the next frame (B, H, W) 0/1 (its mode at temperature 0,
                                   else a sample) and proprio (B, P) after actions (B, A)
A state is a dict of tensors (or lists or dicts of them) whose first dimension is the batch:
`take_rows` and `put_rows` reset some envs of a batch without touching the others. `step`
updates the state it is given (a transformer's key/value cache is written in place). A
model's predicted full_state, when it has one, is state["vector"] (keys spec["state_keys"]).
`sample` (below, written once) rolls whole windows out as a loop over the two. Batches
are described in boxlcd.models.spec.
"""
from __future__ import annotations

import torch


def take_rows(state, rows):
    """The rows `rows` of every tensor in a model state (a new state)."""
    if isinstance(state, torch.Tensor):
        return state[rows]
    if isinstance(state, dict):
        return {k: take_rows(v, rows) for k, v in state.items()}
    return [take_rows(v, rows) for v in state]


def put_rows(state, rows, part) -> None:
    """Writes the state `part` (of len(rows) envs) into rows `rows` of `state`, in place."""
    if isinstance(state, dict):
        for k, v in state.items():
            if isinstance(v, torch.Tensor):
                v[rows] = part[k]
            else:
                put_rows(v, rows, part[k])
    else:
        for i, v in enumerate(state):
            if isinstance(v, torch.Tensor):
                v[rows] = part[i]
            else:
                put_rows(v, rows, part[i])


def prompt_of(batch: dict, prompt: int) -> dict:
    """The first `prompt` frames of a batch of windows, as `start` takes them."""
    out = {k: batch[k][:, :prompt] for k in ("lcd", "proprio", "full_state") if k in batch}
    out["actions"] = batch["actions"][:, :prompt - 1]
    return out


@torch.no_grad()
def rollout(model, batch: dict, prompt: int, temperature: float = 0.0, generator=None):
    """(frames (B, T, H, W) 0/1, proprio (B, T, P)): frames [0, prompt) copied from the batch,
    the rest rolled out by the model's step contract under the batch's actions. The rollout loop
    of every model."""
    lcd, proprio = batch["lcd"].clone(), batch["proprio"].clone()
    state = model.start(prompt_of(batch, prompt))
    for t in range(prompt, lcd.shape[1]):
        lcd[:, t], proprio[:, t], state = model.step(state, batch["actions"][:, t - 1], temperature, generator)
    return lcd, proprio


def sample(model, batch: dict, prompt: int, temperature: float = 0.0, generator=None) -> torch.Tensor:
    """The frames of `rollout`."""
    return rollout(model, batch, prompt, temperature, generator)[0]


class Stepper:
    """Gives a model with start and step its `sample`."""

    def sample(self, batch: dict, prompt: int, temperature: float = 0.0, generator=None) -> torch.Tensor:
        return sample(self, batch, prompt, temperature, generator)
