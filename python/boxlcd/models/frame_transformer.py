"""Frame-token transformer: each frame (flattened pixels, with its action, and proprio when
the env has a robot) is one token of a causal transformer; the output at a token gives the
next frame's pixels as independent Bernoullis (and the next proprio, by regression).
With `dynamics` > 0 the proprio (or full_state) comes from a small MLP of that width that sees
the transformer's output beside the last two vectors and the action, and predicts the change.
With `input_noise` > 0 training reads noisy vectors and predicts the clean next one (see
`loss`). With `render` > 0 the frame's logits also get a renderer's: an MLP of that width
from the predicted next vector alone (a robot's pose, or with predict_state every body's) to
every pixel, which an extra loss teaches on the true vectors (see `loss`). A per-pixel
independent readout of the transformer blurs a body whose place it is unsure of; the renderer
draws it where the predicted vector puts it (on Luxo it gained nothing over the dynamics MLP
alone: docs/models.md). With `context` c > 0 each token attends to the last c tokens only
(itself included), in training and in stepping, so a learned env's step costs the same at every
time step. `precision=bf16` runs the transformer's blocks in bf16 in teacher-forced passes
(training); stepping stays fp32. It pays only on a CPU with AVX512-BF16 or AMX (or a GPU): on
an AVX2 CPU torch emulates bf16, and training is about 7x slower than in fp32.

The sequence starts with a begin token, so frame 0 gets a likelihood too. Good for 16x16 and
16x32 frames: one token per frame keeps sequences short (ep_len + 1 tokens).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from boxlcd.models.bernoulli import bernoulli_nll, pick
from boxlcd.models.precision import check_precision
from boxlcd.models.rollout import Stepper
from boxlcd.models.settings import settings
from boxlcd.models.transformer import CausalTransformer, frame_tokens
from boxlcd.models.vector import Vector, vector_mse
from boxlcd.ranges import check_flags, check_heads, check_ranges

DEFAULTS = {"d_model": 128, "layers": 4, "heads": 4, "dropout": 0.0, "proprio_weight": 1.0, "conv_channels": 0,
            "predict_state": False, "dynamics": 0, "precision": "fp32", "input_noise": 0.0,
            "balanced_vector_loss": False, "context": 0, "render": 0}
RANGES = {  # boxlcd.ranges: (lowest, highest, whether the lowest itself is allowed); the caps stop a typo
    # from asking for terabytes
    "d_model": (1, 8192, True), "layers": (1, 64, True), "heads": (1, 256, True), "dropout": (0.0, 1.0, True),
    "proprio_weight": (0.0, None, True), "conv_channels": (0, 1024, True), "dynamics": (0, 16384, True),
    "input_noise": (0.0, None, True), "context": (0, 100_000, True), "render": (0, 16384, True)}
FLAGS = ("predict_state", "balanced_vector_loss")


class FrameTransformer(Stepper, nn.Module):
    closed_form = False
    bound = False

    def __init__(self, spec: dict, **config):
        super().__init__()
        self.spec, self.config = spec, settings(self, DEFAULTS, config)
        c = self.config
        check_precision(c["precision"])
        if not c["input_noise"] >= 0:
            raise ValueError(f"input_noise must be >= 0, got {c['input_noise']!r}")
        check_ranges(c, RANGES)
        check_flags(c, FLAGS)
        check_heads(c)
        H, W = spec["frame_shape"]
        self.pixels = H * W
        self.vector = Vector(spec, c["predict_state"])
        self.P = self.vector.width
        d_in = self.pixels + spec["action_size"] + self.P + 1  # + a begin flag
        self.core = CausalTransformer(d_in, c["d_model"], c["layers"], c["heads"], spec["ep_len"] + 1, c["dropout"],
                                      c["context"])
        self.head = nn.Linear(c["d_model"], self.pixels + self.P)
        # conv_channels > 0: a small conv net refines the head's logits from the last frame, so
        # moving a body by a pixel is a local, translation-equivariant edit, not a 256-way readout.
        k = c["conv_channels"]
        self.refine = None if not k else nn.Sequential(
            nn.Conv2d(2, k, 3, padding=1), nn.GELU(), nn.Conv2d(k, k, 3, padding=1), nn.GELU(),
            nn.Conv2d(k, 1, 3, padding=1))
        if self.refine is not None:  # about twice as fast on CPU for these small planes
            self.refine.to(memory_format=torch.channels_last)
        # dynamics > 0: the vector's change comes from an MLP that sees the last two vectors (so
        # the velocity) and the action directly. A linear readout of the transformer learns the
        # motion slowly: after 30 CPU minutes it still missed a 0.04 step by 0.01.
        h = c["dynamics"] if self.P else 0
        self.dynamics = None if not h else nn.Sequential(
            nn.Linear(c["d_model"] + 2 * self.P + spec["action_size"], h), nn.GELU(), nn.Linear(h, h), nn.GELU(),
            nn.Linear(h, self.P))
        r = c["render"]
        if r and not self.P:
            raise ValueError("render needs a vector to draw from: an env with a robot, or predict_state=true")
        self.render = None if not r else nn.Sequential(
            nn.Linear(self.P, r), nn.GELU(), nn.Linear(r, r), nn.GELU(), nn.Linear(r, self.pixels))

    def forward(self, lcd: torch.Tensor, actions: torch.Tensor, proprio: torch.Tensor):
        """Logits of frames 0..n and proprio predictions, from frames 0..n-1 (lcd (B, n, H, W)),
        actions 0..n-1 (B, n, A) and proprio (B, n, P)."""
        out = self.core(self.tokens(lcd, actions, proprio, begin=True), bf16=self.config["precision"] == "bf16")
        last = torch.cat([torch.zeros_like(lcd[:, :1]), lcd], dim=1)  # the frame before each output
        motion = None
        if self.dynamics is not None:  # before each output: the last vector, the one before it
            # (frame 0 repeats itself: it starts at rest) and the action between; zeros before frame 0
            zero = torch.zeros_like(proprio[:, :1])
            motion = (torch.cat([zero, proprio], dim=1), torch.cat([zero, proprio[:, :1], proprio[:, :-1]], dim=1),
                      torch.cat([torch.zeros_like(actions[:, :1]), actions], dim=1))
        return self.readout(out, last, motion)

    def readout(self, out: torch.Tensor, last: torch.Tensor, motion: tuple | None):
        """Frame logits (B, m, H*W) and proprio (B, m, P) from transformer outputs (B, m, d),
        the frames (B, m, H, W) before the predicted ones, and (for the dynamics MLP) `motion`:
        the two vectors before them and the action between."""
        heads = self.head(out)
        logits, prop = heads[..., :self.pixels], heads[..., self.pixels:]
        if self.dynamics is not None:
            last_vector, prev_vector, action = motion
            prop = last_vector + self.dynamics(torch.cat([out, last_vector, prev_vector, action], dim=-1))
        if self.render is not None:  # detached: the frames' loss does not pull the vector toward
            # what the renderer draws well; the vector keeps its own loss
            logits = logits + self.render(prop.detach())
        if self.refine is not None:
            B, m, H, W = last.shape
            planes = torch.stack([logits.reshape(B, m, H, W), last * 2 - 1], dim=2).reshape(-1, 2, H, W)
            planes = planes.contiguous(memory_format=torch.channels_last)
            logits = logits + self.refine(planes).reshape(B, m, -1)
        return logits, prop

    def tokens(self, lcd: torch.Tensor, actions: torch.Tensor, proprio: torch.Tensor, begin: bool = False):
        parts = [lcd.flatten(2) * 2 - 1, actions] + ([proprio] if self.P else [])
        return frame_tokens(parts, begin)

    def _teacher_forced(self, batch: dict, input_noise: float = 0.0):
        lcd, actions, proprio = batch["lcd"], batch["actions"], self.vector.of(batch)
        T = lcd.shape[1]
        inputs = proprio[:, :T - 1]
        if input_noise:
            inputs = inputs + input_noise * torch.randn_like(inputs)
        logits, prop = self(lcd[:, :T - 1], actions[:, :T - 1], inputs)
        return logits, prop

    def frame_nll(self, batch: dict) -> torch.Tensor:
        lcd = batch["lcd"]
        logits, _ = self._teacher_forced(batch)
        return bernoulli_nll(logits, lcd.reshape(*lcd.shape[:2], -1)).sum(-1)

    def loss(self, batch: dict):
        """input_noise > 0: the vectors the model reads (not those it predicts) get Gaussian noise
        of that scale, so it learns to pull a rollout that drifted off the data back toward the
        true next vector rather than to carry its own one-step errors forward.

        render > 0: the renderer alone, from each frame's true vector, also learns that frame (its
        per-pixel loss added to the loss), so it learns to draw a pose before the predicted
        vectors are good; the frames' likelihood stays that of the predicted vectors (a function of
        the past), as in evaluation and stepping."""
        lcd = batch["lcd"]
        frames = lcd.reshape(*lcd.shape[:2], -1)
        logits, prop = self._teacher_forced(batch, self.config["input_noise"])
        nll = bernoulli_nll(logits, frames).mean()
        logs = {"nll_per_pixel": nll.item()}
        loss = nll
        target = self.vector.of(batch)
        if self.render is not None:
            drawn = bernoulli_nll(self.render(target), frames).mean()
            logs["render_nll_per_pixel"] = drawn.item()
            loss = loss + drawn
        if self.P:
            loss = loss + self.config["proprio_weight"] * vector_mse(prop, target, self.config["balanced_vector_loss"])
            logs["proprio_mse"] = F.mse_loss(prop, target).item()  # plain, so runs with either loss compare
        return loss, logs

    def _token(self, frame: torch.Tensor, action: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        return self.tokens(frame[:, None], action[:, None], vector[:, None])[:, 0]

    @torch.no_grad()
    def start(self, prompt: dict) -> dict:
        lcd, actions, vector = prompt["lcd"], prompt["actions"], self.vector.of(prompt)
        B = len(lcd)
        cache = self.core.new_cache(B, lcd.device)
        self.core.step(self.core.begin_token(B, lcd.device), cache)
        for t in range(lcd.shape[1] - 1):
            self.core.step(self._token(lcd[:, t], actions[:, t], vector[:, t]), cache)
        # The last prompt frame waits for its action: a token is a frame with the action after it.
        return {"cache": cache, "frame": lcd[:, -1].clone(), "vector": vector[:, -1].clone(),
                "prev_vector": vector[:, max(0, lcd.shape[1] - 2)].clone()}

    @torch.no_grad()
    def step(self, state: dict, actions: torch.Tensor, temperature: float = 0.0, generator=None):
        last, vector = state["frame"], state["vector"]
        out = self.core.step(self._token(last, actions, vector), state["cache"])
        motion = None if self.dynamics is None else (vector[:, None], state["prev_vector"][:, None], actions[:, None])
        logits, predicted = self.readout(out[:, None], last[:, None], motion)
        frame = pick(logits[:, 0], temperature, generator).reshape(last.shape)
        if self.P:
            vector = predicted[:, 0]
        state.update(frame=frame, vector=vector, prev_vector=state["vector"])
        return frame, self.vector.proprio(vector), state
