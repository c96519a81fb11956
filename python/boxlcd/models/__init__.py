"""World models of boxlcd data: calibration baselines, a frame-token transformer, a
binary-latent autoencoder with a latent transformer, and a small RSSM. torch only.

Train with `boxlcd train MODEL --data DIR [--preset NAME]` (presets.py holds the named
recipes), evaluate with `boxlcd eval CKPT --data TESTDIR` (or `python -m boxlcd.models.train`,
`python -m boxlcd.models.evaluate`); see docs/models.md.
"""
from __future__ import annotations

from boxlcd.models.arbiter import Arbiter
from boxlcd.models.binary_ae import BinaryAE
from boxlcd.models.constant_velocity import ConstantVelocity
from boxlcd.models.copy_last import CopyLast
from boxlcd.models.frame_transformer import FrameTransformer
from boxlcd.models.marginal import Marginal
from boxlcd.models.oracle import PosteriorOracle
from boxlcd.models.rssm import RSSM

MODELS = {"marginal": Marginal, "copy_last": CopyLast, "constant_velocity": ConstantVelocity,
          "frame_transformer": FrameTransformer,
          "binary_ae": BinaryAE, "rssm": RSSM, "oracle": PosteriorOracle}
# What `boxlcd train` also trains that is not a world model: the arbiter scores their video.
SCORERS = {"arbiter": Arbiter}
TRAINABLE = {**MODELS, **SCORERS}


def kind(name: str) -> str:
    """"world model" or "arbiter": what a checkpoint of this model name can be used for."""
    return "arbiter" if name in SCORERS else "world model"


def build(name: str, spec: dict, **config):
    """A model (or an arbiter) by name, for data of the given spec (see spec.data_spec)."""
    if name not in TRAINABLE:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(TRAINABLE)}")
    return TRAINABLE[name](spec, **config)


__all__ = ["MODELS", "SCORERS", "TRAINABLE", "Arbiter", "BinaryAE", "ConstantVelocity", "CopyLast", "FrameTransformer", "Marginal", "PosteriorOracle", "RSSM", "build"]
