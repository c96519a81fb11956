"""A model's settings: its defaults updated by the ones a run chose."""
from __future__ import annotations

import torch.nn as nn


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
