"""Named training recipes for `boxlcd train MODEL --preset NAME`.

A preset is data: the model it is for, `boxlcd train` options (TrainConfig fields) and model
settings (what --set gives). Options and settings given explicitly override the preset's; the
run records the preset's name beside the settings it resolved to.
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    model: str
    about: str
    options: dict
    settings: dict
    robot_options: dict = field(default_factory=dict)  # options that differ for envs with a robot

    def options_for(self, robot: bool) -> dict:
        """The preset's options for data of an env with (robot=True) or without a robot."""
        return {**self.options, **(self.robot_options if robot else {})}


PRESETS = {
    "learned-sim": Preset(
        "frame_transformer", "the learned simulator that boxlcd rl trains PPO in (docs/learned-sims.md)",
        {"batch": 32, "steps": 100_000, "prompt": 1, "lr": 1e-3},
        {"d_model": 128, "layers": 2, "proprio_weight": 10, "dynamics": 256, "balanced_vector_loss": True}),
    "table1": Preset(
        "frame_transformer", "the paper's Table 1 runs (scripts/table1.sh)",
        {"steps": 100_000, "lr": 1e-3, "threads": 1, "batch": 32},
        {"d_model": 128},
        robot_options={"batch": 16}),
}


def preset_for(name: str, model: str) -> Preset:
    """The preset `name` for `model`; a one-line error for an unknown name or another model's."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    if preset.model != model:
        raise ValueError(f"preset {name} is for {preset.model}, not {model}")
    return preset


def describe() -> str:
    """The presets in words, for `boxlcd train --help`."""
    lines = []
    for name, p in PRESETS.items():
        options = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in p.options.items())
        robot = "".join(f" ({k} {v} with a robot)" for k, v in p.robot_options.items())
        settings = " ".join(f"--set {k}={json.dumps(v)}" for k, v in p.settings.items())
        lines.append(textwrap.fill(f"{name}: {p.about}: {p.model} {options} {settings}{robot}", 100,
                                   initial_indent="  ", subsequent_indent="    "))
    return "\n".join(lines)
