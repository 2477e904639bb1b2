"""``torch-cpu``: what diffusers does with ``generator=torch.Generator("cpu").manual_seed(seed)``.

Each ``normal(shape)`` is ``torch.randn(shape, generator=g, dtype=torch.float32)``
on the CPU; later calls continue the same generator ``g``, exactly like the
``randn_tensor(..., generator=g)`` calls in diffusers' pipelines and schedulers.

Seeds: ``manual_seed`` accepts 0 .. 2**64-1, but torch's CPU engine (mt19937)
is initialised from the low 32 bits only, so seed ``s`` and ``s + 2**32`` give
the same stream (measured with torch 2.13; see tests/test_noise.py).  The full
seed is still passed to ``manual_seed``, so behaviour equals diffusers'.

Platform caveat (measured): torch's CPU ``randn`` kernel is not the same code on
every CPU.  For float32 tensors of >= 16 elements x86-64 builds with AVX2 or
AVX-512 take a vectorised path, while ``ATEN_CPU_CAPABILITY=default`` (and
possibly other architectures) takes another whose last bits differ on a large
fraction of the elements.  Bit-exact ``torch-cpu`` noise is therefore only
promised on the same torch version and CPU kernel family.
"""

from __future__ import annotations

from typing import Any

from .base import NoiseUnavailable, check_seed, check_shape

KEY = "torch-cpu"


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise NoiseUnavailable("the 'torch-cpu' noise source needs torch") from exc
    return torch


class TorchCPUStream:
    #: ``normal`` takes an optional ``dtype`` (torch dtype): torch draws
    #: float16/bfloat16 with a different kernel than float32-then-cast, so
    #: the diffusers injection passes the pipeline's dtype through.
    accepts_dtype = True

    def __init__(self, seed: int):
        torch = _torch()
        self.seed = check_seed(seed)
        self.generator = torch.Generator("cpu").manual_seed(self.seed)

    def normal(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        torch = _torch()
        shape = check_shape(shape)
        return torch.randn(shape, generator=self.generator, device="cpu",
                           dtype=torch.float32 if dtype is None else dtype)


class TorchCPUSource:
    key = KEY

    def stream(self, seed: int) -> TorchCPUStream:
        return TorchCPUStream(seed)


SOURCE = TorchCPUSource()
