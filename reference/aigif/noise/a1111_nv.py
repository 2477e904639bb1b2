"""``a1111-nv``: AUTOMATIC1111 stable-diffusion-webui's "NV" random source.

A1111's ``modules/rng_philox.py`` emulates ``torch.randn(..., device="cuda")``
on the CPU with numpy, so an image made on an NVIDIA GPU can be regenerated
elsewhere.  This module re-implements that emulation (not a copy of it):

* key: the seed's two 32-bit halves ``(seed mod 2**32, seed >> 32)``;
* the ``t``-th call (t = 0, 1, ...) of ``normal(shape)`` gives element ``i``
  (row-major, ``i < 2**32``) from ``Philox4x32-10(counter=(t, 0, i, 0), key)``,
  using only output words ``w0, w1``;
* Box-Muller, "sin" branch, computed in binary64 exactly as numpy computes the
  original's expressions (uint32 * float32-array promotes to float64)::

      u = w0 * C1 + C1/2            C1 = float32(2.3283064e-10)
      v = w1 * C2 + C2/2            C2 = float32(2.3283064e-10 * 6.2831855)
      value = float32( sqrt(-2 * log(u)) * sin(v) )

``log`` and ``sin`` are numpy's binary64 functions, as in A1111.  They are not
guaranteed correctly rounded, so another platform's numpy may (rarely) differ
in the last float32 bit, just as A1111 itself would.
"""

from __future__ import annotations

from typing import Any

from .base import NoiseUnavailable, check_seed, check_shape, numel
from .philox import MASK32, philox4x32_np, split_seed

KEY = "a1111-nv"


def _np():
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover
        raise NoiseUnavailable("the 'a1111-nv' noise source needs numpy") from exc
    return numpy


def _constants():
    np = _np()
    c1 = np.float32(2.3283064e-10)
    c2 = np.float32(2.3283064e-10 * 6.2831855)  # product in binary64, then rounded to float32
    # the halves are computed in float32 by A1111 (exact: halving)
    return float(c1), float(c1 / np.float32(2)), float(c2), float(c2 / np.float32(2))


def box_muller_sin(w0, w1):
    """A1111's Box-Muller on two uint32 arrays -> float32 array."""
    np = _np()
    c1, c1h, c2, c2h = _constants()
    u = np.asarray(w0, dtype=np.uint32).astype(np.float64) * c1 + c1h
    v = np.asarray(w1, dtype=np.uint32).astype(np.float64) * c2 + c2h
    s = np.sqrt(-2.0 * np.log(u))
    return (s * np.sin(v)).astype(np.float32)


class A1111NVStream:
    """One A1111 NV generator: ``offset`` counts the calls made so far."""

    def __init__(self, seed: int):
        self.seed = check_seed(seed)
        self.offset = 0

    def normal(self, shape: tuple[int, ...]) -> Any:
        np = _np()
        shape = check_shape(shape)
        n = numel(shape)
        if n > 2**32:
            raise ValueError("a1111-nv draws at most 2**32 values per call")
        if self.offset > MASK32:
            raise OverflowError("a1111-nv stream exhausted (2**32 calls)")
        k0, k1 = split_seed(self.seed)
        idx = np.arange(n, dtype=np.uint64).astype(np.uint32)
        w0, w1, _w2, _w3 = philox4x32_np(self.offset, 0, idx, 0, k0, k1)
        self.offset += 1
        return box_muller_sin(w0, w1).reshape(shape)


class A1111NVSource:
    key = KEY

    def stream(self, seed: int) -> A1111NVStream:
        return A1111NVStream(seed)


SOURCE = A1111NVSource()
