"""A causal transformer over one token per frame, with a key/value cache for stepping."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


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
    """Pre-norm GPT-style stack over a sequence of vectors, learned positions, causal mask.

    context c > 0: each token attends to itself and the c - 1 tokens before it only (a band
    mask in training, the same in stepping), so a step's attention costs c keys however long the
    sequence has grown, and the cache is a ring of c slots. Over L layers an output still sees
    L x (c - 1) tokens back. Positions stay absolute: each key
    carries its own, so the ring's order does not matter to attention."""

    def __init__(self, d_in: int, d_model: int, layers: int, heads: int, max_len: int, dropout: float = 0.0,
                 context: int = 0):
        super().__init__()
        self.context = context
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
        if self.context and self.context < T:  # the band: no key more than context - 1 tokens back
            i = torch.arange(T, device=x.device)
            mask = mask.masked_fill(i[None, :] <= i[:, None] - self.context, float("-inf"))
        h = self.embed(x) + self.pos[:, :T]
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            h = self.blocks(h, mask=mask, is_causal=not self.context or self.context >= T)
        return self.norm(h.to(x.dtype))  # back from bf16; a float64 model stays float64

    def new_cache(self, batch: int, device=None) -> dict:
        """An empty key/value cache for `step`: per layer (batch, heads, slots, head_dim) keys
        and values, slots = max_len (or context, a ring), and each row's position (how many
        tokens it holds)."""
        layer = self.blocks.layers[0].self_attn
        slots = min(self.context, self.max_len) if self.context else self.max_len
        shape = (batch, layer.num_heads, slots, layer.embed_dim // layer.num_heads)
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
        slots = cache["k"][0].shape[2]
        # No row attends past the longest: the rest of the cache is skipped. A ring (context) is
        # full once a row has written every slot; until then its unwritten slots are masked.
        span = min(int(pos.max()) + 1, slots)
        mask = (torch.arange(span, device=x.device) <= pos[:, None])[:, None, None, :]  # True: attend
        slot = pos % slots
        h = (self.embed(x) + self.pos[0, pos])[:, None]
        for i, layer in enumerate(self.blocks.layers):  # nn.TransformerEncoderLayer, pre-norm
            attn = layer.self_attn
            qkv = F.linear(layer.norm1(h), attn.in_proj_weight, attn.in_proj_bias)
            q, k, v = (t.unflatten(-1, (attn.num_heads, -1)).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
            keys, values = cache["k"][i], cache["v"][i]
            keys[rows, :, slot] = k[:, :, 0]
            values[rows, :, slot] = v[:, :, 0]
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
