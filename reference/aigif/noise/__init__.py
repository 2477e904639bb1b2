"""AIGIF noise sources: seed -> reproducible stream of standard-normal float32 values.

>>> from aigif.noise import get_source
>>> s = get_source("portable").stream(42)
>>> latent = s.normal((1, 4, 64, 64))      # initial latent
>>> step_noise = s.normal((1, 4, 64, 64))  # next draw continues the stream

Keys: ``torch-cpu``, ``a1111-nv``, ``torch-cuda``, ``portable``.  The lookup
is a fixed table (no plug-in registry); an unknown key raises ``KeyError``.
Modules are imported only when their source is asked for, so e.g. ``portable``
works without torch.
"""

from __future__ import annotations

import importlib

from .base import SEED_MAX, SEED_MIN, NoiseSource, NoiseStream, NoiseUnavailable, check_seed

_MODULES = {
    "torch-cpu": "torch_cpu",
    "a1111-nv": "a1111_nv",
    "torch-cuda": "torch_cuda",
    "portable": "portable",
}

#: every key get_source() knows, in a stable order
KEYS: tuple[str, ...] = tuple(_MODULES)
#: the sources that need no GPU
CPU_KEYS: tuple[str, ...] = ("torch-cpu", "a1111-nv", "portable")


def get_source(key: str) -> NoiseSource:
    """The noise source called ``key``; ``KeyError`` if there is none."""
    try:
        module = _MODULES[key]
    except (KeyError, TypeError):
        raise KeyError(f"unknown noise source {key!r}; known: {', '.join(KEYS)}") from None
    return importlib.import_module(f"{__name__}.{module}").SOURCE


__all__ = [
    "CPU_KEYS", "KEYS", "NoiseSource", "NoiseStream", "NoiseUnavailable",
    "SEED_MAX", "SEED_MIN", "check_seed", "get_source",
]
