"""Binary-latent autoencoder + causal transformer over latent tokens.

A conv encoder maps each frame to `bits` binary units (straight-through: stochastic
binarisation while training, a threshold otherwise), a conv decoder maps them back to pixel
Bernoullis, and a causal transformer predicts each frame's code bits (independent Bernoullis)
from the past codes, actions and proprio. Tokens stay one per frame however large the frame,
so it scales to 32x64 (Crab) and beyond. Both parts train together; the prior sees the codes
detached, so it models the encoder rather than steering it.

Likelihood: -log p(x) <= -log p(z) - log p(x | z) for the encoder's code z, since
p(x) = sum_z p(z) p(x | z). frame_nll reports that bound.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from boxlcd.models.bernoulli import bernoulli_nll, pick
from boxlcd.models.rollout import Stepper
from boxlcd.models.settings import settings
from boxlcd.models.transformer import CausalTransformer, frame_tokens
from boxlcd.models.vector import Vector
from boxlcd.ranges import check_flags, check_heads, check_ranges

DEFAULTS = {"bits": 64, "channels": 64, "d_model": 256, "layers": 4, "heads": 4, "dropout": 0.0,
            "proprio_weight": 1.0, "predict_state": False}
RANGES = {  # boxlcd.ranges: (lowest, highest, whether the lowest itself is allowed)
    "bits": (1, 4096, True), "channels": (1, 1024, True), "d_model": (1, 8192, True), "layers": (1, 64, True),
    "heads": (1, 256, True), "dropout": (0.0, 1.0, True), "proprio_weight": (0.0, None, True)}


def norm(c: int) -> nn.GroupNorm:
    # Without it the AE sat on the all-background plateau (0.16 nats/pixel on Bounce) for
    # thousands of steps: a few lit pixels barely move unnormalised activations.
    return nn.GroupNorm(math.gcd(8, c), c)


def in_chunks(net: nn.Module, x: torch.Tensor, frames: int = 1024) -> torch.Tensor:
    # Evaluation passes whole batches of episodes: at 32x64 one conv layer over 128 episodes of
    # 101 frames is 3 GiB; without gradients, chunks bound that.
    if torch.is_grad_enabled() or len(x) <= frames:
        return net(x)
    return torch.cat([net(x[i:i + frames]) for i in range(0, len(x), frames)])


class Encoder(nn.Module):
    def __init__(self, H: int, W: int, c: int, bits: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), norm(c), nn.GELU(),
            nn.Conv2d(c, c, 4, stride=2, padding=1), norm(c), nn.GELU(),
            nn.Conv2d(c, c, 4, stride=2, padding=1), norm(c), nn.GELU(),
            nn.Flatten(), nn.Linear(c * (H // 4) * (W // 4), bits))

    def forward(self, x):
        return self.net(x * 2 - 1)


class Decoder(nn.Module):
    def __init__(self, H: int, W: int, c: int, bits: int):
        super().__init__()
        self.shape = (c, H // 4, W // 4)
        self.fc = nn.Linear(bits, c * (H // 4) * (W // 4))
        self.net = nn.Sequential(
            norm(c), nn.GELU(), nn.ConvTranspose2d(c, c, 4, stride=2, padding=1),
            norm(c), nn.GELU(), nn.ConvTranspose2d(c, c, 4, stride=2, padding=1),
            norm(c), nn.GELU(), nn.Conv2d(c, 1, 3, padding=1))

    def forward(self, z):
        return self.net(self.fc(z * 2 - 1).reshape(-1, *self.shape)).squeeze(1)


class BinaryAE(Stepper, nn.Module):
    closed_form = False
    bound = True

    def __init__(self, spec: dict, **config):
        super().__init__()
        self.spec, self.config = spec, settings(self, DEFAULTS, config)
        c = self.config
        check_ranges(c, RANGES)
        check_flags(c, ("predict_state",))
        check_heads(c)
        H, W = spec["frame_shape"]
        if H % 4 or W % 4:
            raise ValueError(f"binary_ae needs frame sides divisible by 4, got {H}x{W}")
        self.vector = Vector(spec, c["predict_state"])
        self.P = self.vector.width
        self.encoder = Encoder(H, W, c["channels"], c["bits"])
        self.decoder = Decoder(H, W, c["channels"], c["bits"])
        d_in = c["bits"] + spec["action_size"] + self.P + 1
        self.core = CausalTransformer(d_in, c["d_model"], c["layers"], c["heads"], spec["ep_len"] + 1, c["dropout"])
        self.head = nn.Linear(c["d_model"], c["bits"] + self.P)

    def encode(self, lcd: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, binary code) of frames (..., H, W); straight-through when training."""
        shape = lcd.shape[:-2]
        logits = in_chunks(self.encoder, lcd.reshape(-1, 1, *lcd.shape[-2:])).reshape(*shape, -1)
        p = torch.sigmoid(logits)
        if self.training:
            hard = (torch.rand_like(p) < p).float()
        else:
            hard = (p > 0.5).float()
        return logits, hard + p - p.detach()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        H, W = self.spec["frame_shape"]
        return in_chunks(self.decoder, z.reshape(-1, z.shape[-1])).reshape(*z.shape[:-1], H, W)

    def prior(self, codes: torch.Tensor, actions: torch.Tensor, proprio: torch.Tensor):
        """Logits of codes 0..n and proprio 0..n from codes, actions, proprio 0..n-1."""
        out = self.head(self.core(self.tokens(codes, actions, proprio, begin=True)))
        bits = self.config["bits"]
        return out[..., :bits], out[..., bits:]

    def tokens(self, codes: torch.Tensor, actions: torch.Tensor, proprio: torch.Tensor, begin: bool = False):
        return frame_tokens([codes * 2 - 1, actions] + ([proprio] if self.P else []), begin)

    def _terms(self, batch: dict):
        lcd, actions, proprio = batch["lcd"], batch["actions"], self.vector.of(batch)
        T = lcd.shape[1]
        _, z = self.encode(lcd)
        recon = bernoulli_nll(self.decode(z), lcd).sum(dim=(2, 3))          # (B, T)
        code = z.detach().round()
        prior_logits, prop = self.prior(code[:, :T - 1], actions[:, :T - 1], proprio[:, :T - 1])
        code_nll = bernoulli_nll(prior_logits, code).sum(-1)                 # (B, T)
        return recon, code_nll, prop

    def frame_nll(self, batch: dict) -> torch.Tensor:
        recon, code_nll, _ = self._terms(batch)
        return recon + code_nll

    def loss(self, batch: dict):
        recon, code_nll, prop = self._terms(batch)
        pixels = batch["lcd"][0, 0].numel()
        loss = (recon.mean() + code_nll.mean()) / pixels
        logs = {"recon_per_pixel": recon.mean().item() / pixels, "code_bits": code_nll.mean().item() / 0.6931471805599453}
        if self.P:
            mse = F.mse_loss(prop, self.vector.of(batch))
            loss = loss + self.config["proprio_weight"] * mse
            logs["proprio_mse"] = mse.item()
        return loss, logs

    def _token(self, code: torch.Tensor, action: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        return self.tokens(code[:, None], action[:, None], vector[:, None])[:, 0]

    @torch.no_grad()
    def start(self, prompt: dict) -> dict:
        lcd, actions, vector = prompt["lcd"], prompt["actions"], self.vector.of(prompt)
        codes = self.encode(lcd)[1].round()
        B = len(lcd)
        cache = self.core.new_cache(B, lcd.device)
        self.core.step(self.core.begin_token(B, lcd.device), cache)
        for t in range(lcd.shape[1] - 1):
            self.core.step(self._token(codes[:, t], actions[:, t], vector[:, t]), cache)
        return {"cache": cache, "code": codes[:, -1], "vector": vector[:, -1].clone()}

    @torch.no_grad()
    def step(self, state: dict, actions: torch.Tensor, temperature: float = 0.0, generator=None):
        vector = state["vector"]
        out = self.head(self.core.step(self._token(state["code"], actions, vector), state["cache"]))
        bits = self.config["bits"]
        code = pick(out[:, :bits], temperature, generator)
        if self.P:
            vector = out[:, bits:]
        frame = (self.decode(code) > 0).float()  # the decoder's mode: the code carries the sample
        state.update(code=code, vector=vector)
        return frame, self.vector.proprio(vector), state
