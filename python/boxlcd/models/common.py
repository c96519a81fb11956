"""What every model shares: the data spec, batch preparation, a causal transformer, bits,
and the step contract with the one rollout loop over it.

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
`sample` (below, written once) rolls whole windows out as a loop over the two.

A batch is a dict of tensors on the model's device: "lcd" (B, T, H, W) float 0/1, "actions"
(B, T - 1, A) (action t leads from frame t to frame t + 1), "proprio" (B, T, P), "full_state"
(B, T, D).
"""
from __future__ import annotations

import math
import warnings

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


PRECISIONS = ("fp32", "bf16")  # the `precision` settings of models and of rl's policies


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


def cpu_flags() -> set[str]:
    """This CPU's feature flags (Linux's /proc/cpuinfo); empty where there is none to read."""
    try:
        with open("/proc/cpuinfo") as f:
            return set(next((line for line in f if line.startswith("flags")), "").split())
    except OSError:
        return set()


def warn_if_bf16_is_slow(device) -> None:
    """bf16 autocast pays on a GPU or on a CPU with AVX512-BF16 or AMX; elsewhere torch emulates
    bf16 matrix products (on an AVX2 EPYC with torch 2.13 the frame transformer trained 7x slower:
    bench/ddp_speed.py), so a bf16 setting there is a slowdown, said once rather than found in a
    log."""
    if torch.device(device).type != "cpu":
        return
    flags = cpu_flags()
    if flags and not {"avx512_bf16", "amx_bf16"} & flags:
        warnings.warn("precision=bf16 on a CPU without AVX512-BF16 or AMX: torch emulates bf16 matrix "
                      "products there, several times slower than fp32", RuntimeWarning, stacklevel=2)


def data_spec(episodes) -> dict:
    """The shapes a model needs, from an Episodes manifest."""
    m = episodes.manifest
    state_keys, proprio_keys = list(m["state_keys"]), list(m["proprio_keys"])
    robot = proprio_keys != ["zero"]
    return {"env": m["env"], "frame_shape": list(m["frame_shape"]), "action_size": len(m["action_keys"]),
            "proprio_size": len(proprio_keys), "robot": robot, "ep_len": int(m["ep_len"]),
            "overrides": dict(m.get("overrides", {})), "state_keys": state_keys, "proprio_keys": proprio_keys,
            "proprio_index": [state_keys.index(k) for k in proprio_keys] if robot else []}


def env_spec(env: str, overrides: dict) -> dict:
    """The spec (as data_spec's) of data that `env` with `overrides` makes: what a spec read
    from a file is checked against. A clear error for an env outside the catalogue."""
    import boxlcd

    if not isinstance(env, str) or env not in boxlcd.envs():
        raise ValueError(f"env {env!r} is not a built-in env ({', '.join(boxlcd.envs())})")
    if not isinstance(overrides, dict):
        raise ValueError(f"overrides must be an object of settings, got {type(overrides).__name__}")
    probe = boxlcd.make(env, num_envs=1, frames=False, **overrides)
    state_keys, proprio_keys = list(probe.state_keys), list(probe.proprio_keys)
    robot = proprio_keys != ["zero"]
    return {"env": env, "frame_shape": list(probe.frame_shape), "action_size": len(probe.action_keys),
            "proprio_size": len(proprio_keys), "robot": robot, "ep_len": int(probe.definition.ep_len),
            "overrides": dict(overrides), "state_keys": state_keys, "proprio_keys": proprio_keys,
            "proprio_index": [state_keys.index(k) for k in proprio_keys] if robot else []}


def prepare(batch: dict, device) -> dict:
    """Windows' tensors as floats on `device`."""
    keys = ("lcd", "actions", "proprio", "full_state")
    return {k: batch[k].to(device=device, dtype=torch.float32) for k in keys if k in batch}


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


def bernoulli_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-element -log p(target) in nats for Bernoulli logits."""
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


def pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    """0/1 from Bernoulli logits: the mode when temperature is 0, else a sample."""
    if temperature <= 0:
        return (logits > 0).to(logits.dtype)
    p = torch.sigmoid(logits / temperature)
    return (torch.rand(p.shape, generator=generator, device="cpu").to(p.device) < p).to(logits.dtype)


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

    def forward(self, x: torch.Tensor, bf16: bool = False) -> torch.Tensor:
        """bf16: the blocks run under bf16 autocast (a few times faster on a CPU with AVX512-BF16
        or AMX); the embedding of the input (which holds positions) and the output stay fp32."""
        T = x.shape[1]
        if T > self.max_len:
            raise ValueError(f"sequence of {T} tokens is longer than the model's {self.max_len}")
        mask = nn.Transformer.generate_square_subsequent_mask(T, device=x.device)
        h = self.embed(x) + self.pos[:, :T]
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            h = self.blocks(h, mask=mask, is_causal=True)
        return self.norm(h.to(x.dtype))  # back from bf16; a float64 model stays float64

    def new_cache(self, batch: int, device=None) -> dict:
        """An empty key/value cache for `step`: per layer (batch, heads, max_len, head_dim)
        keys and values, and each row's position (how many tokens it holds)."""
        layer = self.blocks.layers[0].self_attn
        shape = (batch, layer.num_heads, self.max_len, layer.embed_dim // layer.num_heads)
        dtype = self.pos.dtype
        return {"k": [torch.zeros(shape, device=device, dtype=dtype) for _ in self.blocks.layers],
                "v": [torch.zeros(shape, device=device, dtype=dtype) for _ in self.blocks.layers],
                "pos": torch.zeros(batch, dtype=torch.long, device=device)}

    def step(self, x: torch.Tensor, cache: dict) -> torch.Tensor:
        """The output (B, d_model) for one new token per row, x (B, d_in), as forward over each
        row's whole sequence gives it (inference only: no dropout). Each row of `cache` holds
        its own number of earlier tokens, so rows restarted at different times step together;
        sampling a token costs one pass over one token rather than over the whole prefix."""
        pos = cache["pos"]
        if int(pos.max()) >= self.max_len:
            raise ValueError(f"a sequence would grow past the model's {self.max_len} tokens")
        rows = torch.arange(len(x), device=x.device)
        span = int(pos.max()) + 1  # no row attends past the longest: the rest of the cache is skipped
        mask = (torch.arange(span, device=x.device) <= pos[:, None])[:, None, None, :]  # True: attend
        h = (self.embed(x) + self.pos[0, pos])[:, None]
        for i, layer in enumerate(self.blocks.layers):  # nn.TransformerEncoderLayer, pre-norm
            attn = layer.self_attn
            qkv = F.linear(layer.norm1(h), attn.in_proj_weight, attn.in_proj_bias)
            q, k, v = (t.unflatten(-1, (attn.num_heads, -1)).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
            keys, values = cache["k"][i], cache["v"][i]
            keys[rows, :, pos] = k[:, :, 0]
            values[rows, :, pos] = v[:, :, 0]
            a = F.scaled_dot_product_attention(q, keys[:, :, :span], values[:, :, :span], attn_mask=mask)
            h = h + attn.out_proj(a.transpose(1, 2).flatten(2))
            h = h + layer.linear2(layer.activation(layer.linear1(layer.norm2(h))))
        cache["pos"] = pos + 1
        return self.norm(h)[:, 0]

    def begin_token(self, batch: int, device=None) -> torch.Tensor:
        """The begin token (all 0 but the begin flag, the last input), as frame_tokens makes it."""
        x = torch.zeros(batch, self.embed.in_features, device=device, dtype=self.embed.weight.dtype)
        x[:, -1] = 1
        return x
