"""A small recurrent state-space model in the style of Dreamer (v1):

  h_t = GRU(h_{t-1}, [z_{t-1}, a_{t-1}])     deterministic state
  p(z_t | h_t), q(z_t | h_t, x_t)            diagonal Gaussian prior and posterior
  p(x_t | h_t, z_t)                          independent pixel Bernoullis (+ proprio regression)

trained on the ELBO with free nats on the KL. Its likelihood is a bound: frame_nll returns
reconstruction + KL (no free nats, one posterior sample), an upper bound on -log p(x_t | x_<t).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from boxlcd.models.bernoulli import bernoulli_nll, pick
from boxlcd.models.rollout import Stepper
from boxlcd.models.settings import settings
from boxlcd.models.vector import Vector
from boxlcd.ranges import check_flags, check_ranges

DEFAULTS = {"deter": 256, "stoch": 32, "hidden": 512, "free_nats": 3.0, "proprio_weight": 1.0, "predict_state": False}
RANGES = {  # boxlcd.ranges: (lowest, highest, whether the lowest itself is allowed)
    "deter": (1, 16384, True), "stoch": (1, 4096, True), "hidden": (1, 16384, True), "free_nats": (0.0, None, True),
    "proprio_weight": (0.0, None, True)}


def mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU(),
                         nn.Linear(hidden, d_out))


class RSSM(Stepper, nn.Module):
    closed_form = False
    bound = True

    def __init__(self, spec: dict, **config):
        super().__init__()
        self.spec, self.config = spec, settings(self, DEFAULTS, config)
        c = self.config
        check_ranges(c, RANGES)
        check_flags(c, ("predict_state",))
        H, W = spec["frame_shape"]
        self.pixels = H * W
        self.vector = Vector(spec, c["predict_state"])
        self.P = self.vector.width
        self.encoder = mlp(self.pixels + self.P, c["hidden"], c["hidden"])
        self.step_in = nn.Sequential(nn.Linear(c["stoch"] + spec["action_size"], c["hidden"]), nn.ELU())
        self.gru = nn.GRUCell(c["hidden"], c["deter"])
        self.prior_net = mlp(c["deter"], c["hidden"], 2 * c["stoch"])
        self.post_net = mlp(c["deter"] + c["hidden"], c["hidden"], 2 * c["stoch"])
        self.decoder = mlp(c["deter"] + c["stoch"], c["hidden"], self.pixels + self.P)

    @staticmethod
    def _normal(out: torch.Tensor) -> Normal:
        mean, std = out.chunk(2, dim=-1)
        return Normal(mean, F.softplus(std) + 0.1)

    def _embed(self, lcd_t, proprio_t):
        x = [lcd_t.flatten(1) * 2 - 1] + ([proprio_t] if self.P else [])
        return self.encoder(torch.cat(x, -1))

    def _advance(self, h, z, a):
        return self.gru(self.step_in(torch.cat([z, a], -1)), h)

    def _observe(self, batch: dict):
        """Posterior pass: per-step pixel logits, proprio, KL (B, T)."""
        lcd, actions, proprio = batch["lcd"], batch["actions"], self.vector.of(batch)
        B, T = lcd.shape[:2]
        c = self.config
        h = lcd.new_zeros(B, c["deter"])
        z = lcd.new_zeros(B, c["stoch"])
        logits, props, kls = [], [], []
        for t in range(T):
            if t > 0:
                h = self._advance(h, z, actions[:, t - 1])
            prior = self._normal(self.prior_net(h))
            post = self._normal(self.post_net(torch.cat([h, self._embed(lcd[:, t], proprio[:, t])], -1)))
            z = post.rsample()
            out = self.decoder(torch.cat([h, z], -1))
            logits.append(out[:, :self.pixels])
            props.append(out[:, self.pixels:])
            kls.append(kl_divergence(post, prior).sum(-1))
        return torch.stack(logits, 1), torch.stack(props, 1), torch.stack(kls, 1)

    def frame_nll(self, batch: dict) -> torch.Tensor:
        lcd = batch["lcd"]
        logits, _, kl = self._observe(batch)
        return bernoulli_nll(logits, lcd.flatten(2)).sum(-1) + kl

    def loss(self, batch: dict):
        lcd = batch["lcd"]
        logits, prop, kl = self._observe(batch)
        recon = bernoulli_nll(logits, lcd.flatten(2)).sum(-1).mean()
        kl_mean = kl.mean()
        loss = (recon + torch.clamp(kl_mean, min=self.config["free_nats"])) / self.pixels
        logs = {"recon_per_pixel": recon.item() / self.pixels, "kl": kl_mean.item()}
        if self.P:
            mse = F.mse_loss(prop, self.vector.of(batch))
            loss = loss + self.config["proprio_weight"] * mse
            logs["proprio_mse"] = mse.item()
        return loss, logs

    @torch.no_grad()
    def start(self, prompt: dict) -> dict:
        lcd, actions, vector = prompt["lcd"], prompt["actions"], self.vector.of(prompt)
        B, c = len(lcd), self.config
        h = lcd.new_zeros(B, c["deter"])
        z = lcd.new_zeros(B, c["stoch"])
        for t in range(lcd.shape[1]):
            if t > 0:
                h = self._advance(h, z, actions[:, t - 1])
            z = self._normal(self.post_net(torch.cat([h, self._embed(lcd[:, t], vector[:, t])], -1))).mean
        return {"h": h, "z": z, "vector": vector[:, -1].clone()}

    @torch.no_grad()
    def step(self, state: dict, actions: torch.Tensor, temperature: float = 0.0, generator=None):
        h = self._advance(state["h"], state["z"], actions)
        prior = self._normal(self.prior_net(h))
        if temperature <= 0:
            z = prior.mean
        else:
            noise = torch.randn(prior.mean.shape, generator=generator).to(h.device)
            z = prior.mean + temperature * prior.stddev * noise
        out = self.decoder(torch.cat([h, z], -1))
        H, W = self.spec["frame_shape"]
        frame = pick(out[:, :self.pixels], temperature, generator).reshape(-1, H, W)
        vector = out[:, self.pixels:] if self.P else state["vector"]
        state.update(h=h, z=z, vector=vector)
        return frame, self.vector.proprio(vector), state
