"""What every model shares: the data spec, batch preparation, a causal transformer, bits.

A model is an nn.Module with
  spec, config                     how to rebuild it (saved with checkpoints)
  loss(batch) -> (loss, logs)      the training objective on a batch of windows
  frame_nll(batch) -> (B, T)       teacher-forced negative log-likelihood of each frame, in
                                   nats summed over its pixels (an upper bound when
                                   `bound` is True: the RSSM's ELBO, the binary AE's code bound)
  sample(batch, prompt) -> frames  (B, T, H, W) 0/1: frames [0, prompt) copied from the batch,
                                   the rest rolled out under the batch's actions
  fit(batches)                     only for `closed_form` models: fit by counting

A batch is a dict of tensors on the model's device: "lcd" (B, T, H, W) float 0/1, "actions"
(B, T - 1, A) (action t leads from frame t to frame t + 1), "proprio" (B, T, P).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LN2 = math.log(2.0)


def settings(model: nn.Module, defaults: dict, config: dict) -> dict:
    """The model's defaults updated by `config`; an unknown key (a typo) is an error, not ignored."""
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        known = ", ".join(sorted(defaults)) or "none"
        raise ValueError(f"{type(model).__name__} has no settings {unknown}; its settings: {known}")
    model.defaults = defaults
    return {**defaults, **config}


def changed_settings(model: nn.Module) -> dict:
    """The model's settings that differ from its defaults: what tells two runs of it apart."""
    defaults = getattr(model, "defaults", {})
    return {k: v for k, v in model.config.items() if k not in defaults or defaults[k] != v}


def proprio_width(spec: dict) -> int:
    """How many proprio values a model reads and predicts: none for envs without a robot."""
    return spec["proprio_size"] if spec["robot"] else 0


def data_spec(episodes) -> dict:
    """The shapes a model needs, from an Episodes manifest."""
    m = episodes.manifest
    return {"env": m["env"], "frame_shape": list(m["frame_shape"]), "action_size": len(m["action_keys"]),
            "proprio_size": len(m["proprio_keys"]), "robot": m["proprio_keys"] != ["zero"], "ep_len": int(m["ep_len"]),
            "overrides": dict(m.get("overrides", {}))}


def prepare(batch: dict, device) -> dict:
    """Windows' tensors as floats on `device`."""
    return {k: batch[k].to(device=device, dtype=torch.float32) for k in ("lcd", "actions", "proprio")}


def bernoulli_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-element -log p(target) in nats for Bernoulli logits."""
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


def pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    """0/1 from Bernoulli logits: the mode when temperature is 0, else a sample."""
    if temperature <= 0:
        return (logits > 0).float()
    p = torch.sigmoid(logits / temperature)
    return (torch.rand(p.shape, generator=generator, device="cpu").to(p.device) < p).float()


def frame_tokens(parts: list[torch.Tensor], begin: bool = False) -> torch.Tensor:
    """One token per frame: `parts` (B, n, *) side by side and a begin flag of 0; with begin=True
    preceded by the begin token (all 0 but the flag), which gives frame 0 a prediction too."""
    B, n = parts[0].shape[:2]
    x = torch.cat(parts + [parts[0].new_zeros(B, n, 1)], dim=-1)
    if not begin:
        return x
    first = x.new_zeros(B, 1, x.shape[-1])
    first[..., -1] = 1
    return torch.cat([first, x], dim=1)


class CausalTransformer(nn.Module):
    """Pre-norm GPT-style stack over a sequence of vectors, learned positions, causal mask."""

    def __init__(self, d_in: int, d_model: int, layers: int, heads: int, max_len: int, dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Linear(d_in, d_model)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.max_len = max_len

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        if T > self.max_len:
            raise ValueError(f"sequence of {T} tokens is longer than the model's {self.max_len}")
        mask = nn.Transformer.generate_square_subsequent_mask(T, device=x.device)
        h = self.embed(x) + self.pos[:, :T]
        return self.norm(self.blocks(h, mask=mask, is_causal=True))

    def step(self, x: torch.Tensor, cache: list) -> torch.Tensor:
        """Outputs for new tokens x (B, n, d_in) that follow the tokens in `cache`, as forward
        over the whole sequence gives them (inference only: no dropout). `cache` is a list, empty
        at first, that keeps each layer's keys and values, so sampling a token costs one pass
        over one token rather than over the whole prefix."""
        past = cache[0][0].shape[2] if cache else 0
        n = x.shape[1]
        if past + n > self.max_len:
            raise ValueError(f"sequence of {past + n} tokens is longer than the model's {self.max_len}")
        mask = torch.ones(n, past + n, dtype=torch.bool, device=x.device).tril(past)  # True: attend
        h = self.embed(x) + self.pos[:, past:past + n]
        for i, layer in enumerate(self.blocks.layers):  # nn.TransformerEncoderLayer, pre-norm
            attn = layer.self_attn
            qkv = F.linear(layer.norm1(h), attn.in_proj_weight, attn.in_proj_bias)
            q, k, v = (t.unflatten(-1, (attn.num_heads, -1)).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
            if i < len(cache):
                k, v = torch.cat([cache[i][0], k], dim=2), torch.cat([cache[i][1], v], dim=2)
                cache[i] = (k, v)
            else:
                cache.append((k, v))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            h = h + attn.out_proj(a.transpose(1, 2).flatten(2))
            h = h + layer.linear2(layer.activation(layer.linear1(layer.norm2(h))))
        return self.norm(h)
