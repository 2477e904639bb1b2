"""Common interface of the AIGIF noise sources.

A *noise source* is a named recipe (``key``) that turns a seed into a
*noise stream*.  A stream hands out standard-normal float32 values in a fixed
order: each call to :meth:`NoiseStream.normal` continues where the previous
call stopped.  The initial latent is the stream's first draw; ancestral / SDE
samplers take their per-step noise from later draws of the same stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeGuard, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy
    import torch

#: Seeds are unsigned 64-bit integers.
SEED_MIN = 0
SEED_MAX = 2**64 - 1


class NoiseUnavailable(RuntimeError):
    """The noise source exists but cannot run here (no GPU, no torch, ...)."""


@runtime_checkable
class NoiseStream(Protocol):
    def normal(self, shape: tuple[int, ...]) -> torch.Tensor | numpy.ndarray:
        """Next ``prod(shape)`` values of the stream, float32, row-major."""
        ...


class DtypeNoiseStream(NoiseStream, Protocol):
    """A stream that draws natively in torch (``torch-cpu``, ``torch-cuda``):
    ``normal`` also takes a torch dtype, since torch draws float16/bfloat16
    with other kernels than float32-then-cast."""

    accepts_dtype: bool

    def normal(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        ...


def accepts_dtype(stream: NoiseStream) -> TypeGuard[DtypeNoiseStream]:
    """Whether ``stream.normal`` takes ``dtype=`` (its ``accepts_dtype`` flag)."""
    return bool(getattr(stream, "accepts_dtype", False))


@runtime_checkable
class NoiseSource(Protocol):
    key: str

    def stream(self, seed: int) -> NoiseStream:
        ...


def check_seed(seed: Any) -> int:
    """Return ``seed`` as an int in 0 .. 2**64-1, or raise.

    ``bool`` and non-integers are refused (``TypeError``); integers outside
    the unsigned 64-bit range are refused (``ValueError``), never wrapped.
    """
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise TypeError(f"seed must be an integer, not {type(seed).__name__}")
    seed = int(seed.__index__())
    if not SEED_MIN <= seed <= SEED_MAX:
        raise ValueError(f"seed {seed} is outside the unsigned 64-bit range 0 .. 2**64-1")
    return seed


def check_shape(shape: Any) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of non-negative ints."""
    if isinstance(shape, int):
        shape = (shape,)
    out = tuple(int(d) for d in shape)
    if any(d < 0 for d in out):
        raise ValueError(f"negative dimension in shape {out}")
    return out


def numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
