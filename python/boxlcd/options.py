"""Command-line values parsed one way everywhere: every `--set KEY=VALUE` of every command."""
from __future__ import annotations

import argparse
import json


def parse_value(text: str):
    """A setting's value: JSON where the text is JSON (`128`, `1e-3`, `true`, `[64, 64]`), else
    the text itself (`fast`, `bf16`). So `walls=false` is False and `ep_len=50` the int 50."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def key_text(text: str) -> tuple[str, str]:
    """KEY=VALUE with the value kept as text (paths, names): an argparse type."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def key_value(text: str) -> tuple[str, object]:
    """KEY=VALUE with the value parsed by parse_value: the argparse type of every `--set`."""
    key, value = key_text(text)
    return key, parse_value(value)
