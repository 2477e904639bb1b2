"""AIGIF noise sources: seed -> reproducible stream of standard-normal float32 values.

>>> from aigif.noise import get_source
>>> s = get_source("portable").stream(42)
>>> latent = s.normal((1, 4, 64, 64))      # initial latent
>>> step_noise = s.normal((1, 4, 64, 64))  # next draw continues the stream

Which sources exist, which module implements each and where each runs are
the registry's ``noise_sources`` entries (``module``, ``runs_on``): adding a
source is a registry entry plus its module. Modules are imported only when
their source is asked for, so e.g. ``portable`` works without torch.
"""

from __future__ import annotations

import importlib

from ..registry import load
from .base import SEED_MAX, SEED_MIN, NoiseSource, NoiseStream, NoiseUnavailable, check_seed


def _implemented() -> list[dict]:
    return [e for e in load().table("noise_sources").entries if e.get("module")]


#: every key get_source() knows, in registry order
KEYS: tuple[str, ...] = tuple(e["key"] for e in _implemented())
#: the sources that need no GPU
CPU_KEYS: tuple[str, ...] = tuple(e["key"] for e in _implemented() if "cpu" in e["runs_on"])


def get_source(key: str) -> NoiseSource:
    """The noise source called ``key``; ``KeyError`` if there is none."""
    entry = load().table("noise_sources").by_key.get(key) if isinstance(key, str) else None
    if entry is None or not entry.get("module"):
        raise KeyError(f"unknown noise source {key!r}; known: {', '.join(KEYS)}")
    return importlib.import_module(entry["module"]).SOURCE


__all__ = [
    "CPU_KEYS", "KEYS", "NoiseSource", "NoiseStream", "NoiseUnavailable",
    "SEED_MAX", "SEED_MIN", "check_seed", "get_source",
]
