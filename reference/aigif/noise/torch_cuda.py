"""``torch-cuda``: ``torch.randn`` on a CUDA generator.

Each ``normal(shape)`` is ``torch.randn(shape, generator=g, device="cuda",
dtype=torch.float32)`` with ``g = torch.Generator("cuda").manual_seed(seed)``;
later calls continue ``g``.  The values are returned on the GPU.

torch's CUDA generator is Philox4x32-10 keyed with the full 64-bit seed (low
word, high word), so every 64-bit seed gives a different stream.  Values depend
on torch's CUDA kernel (launch geometry, unrolling, float32 ``logf``/``sinf``),
so only the same torch version on a GPU is promised bit-exact;
``a1111-nv`` is the CPU emulation of the common case.

Importing this module needs neither torch nor a GPU; making a stream without a
usable CUDA device raises :class:`NoiseUnavailable`.
"""

from __future__ import annotations

from typing import Any

from .base import NoiseUnavailable, check_seed, check_shape

KEY = "torch-cuda"


def _cuda_torch():
    try:
        import torch
    except ImportError as exc:
        raise NoiseUnavailable("the 'torch-cuda' noise source needs torch with CUDA") from exc
    if not torch.cuda.is_available():
        raise NoiseUnavailable(
            "the 'torch-cuda' noise source needs an NVIDIA GPU with a CUDA build of torch; "
            "none is available here (the 'a1111-nv' source emulates it on the CPU)")
    return torch


class TorchCUDAStream:
    accepts_dtype = True

    def __init__(self, seed: int, device: str = "cuda"):
        torch = _cuda_torch()
        self.seed = check_seed(seed)
        self.device = torch.device(device)
        self.generator = torch.Generator(self.device).manual_seed(self.seed)

    def normal(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        torch = _cuda_torch()
        shape = check_shape(shape)
        return torch.randn(shape, generator=self.generator, device=self.device,
                           dtype=torch.float32 if dtype is None else dtype)


class TorchCUDASource:
    key = KEY

    def stream(self, seed: int) -> TorchCUDAStream:
        return TorchCUDAStream(seed)


SOURCE = TorchCUDASource()
