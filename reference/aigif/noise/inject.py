"""Make diffusers draw its noise from an AIGIF noise stream.

diffusers draws every random tensor of a text-to-image run through
``diffusers.utils.torch_utils.randn_tensor``: the pipeline's initial latent
(``prepare_latents``), the VAE's posterior sample (img2img) and the per-step
noise of ancestral / SDE-like schedulers (``scheduler.step``).  Each of those
modules imports the function by name, so :func:`use_noise` rebinds the name
``randn_tensor`` in every loaded ``diffusers`` module (and in modules imported
while the block runs) to a function that takes the next values of the stream,
in the order diffusers asks for them, and restores the originals on exit::

    stream = get_source("portable").stream(seed)
    with use_noise(stream) as injection:
        image = pipe(prompt, num_inference_steps=20).images[0]
    injection.draws   # shapes drawn, in order

Call the pipeline *without* ``generator=`` (it is ignored inside the block).
``torch.randn`` called directly (not through ``randn_tensor``) is not covered,
nor is ``DPMSolverSDEScheduler``'s torchsde Brownian tree.  The patch is
process-wide: do not run other diffusers work in other threads meanwhile.

:func:`initial_latent` gives the same first draw as a tensor, for callers that
prefer ``pipe(..., latents=...)`` (mind FLUX's packing: pass the packed tensor).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .base import NoiseStream, accepts_dtype, check_shape


def draw(stream: NoiseStream, shape: Any, *, dtype: Any = None, device: Any = None):
    """Next ``prod(shape)`` values of ``stream`` as a torch tensor on ``device``.

    Streams that draw natively in torch (``accepts_dtype``) get the dtype so
    they behave exactly like ``torch.randn(..., dtype=dtype)``; the others give
    float32 which is then rounded (nearest-even) to ``dtype``.
    """
    import numpy as np
    import torch

    shape = check_shape(shape)
    values: torch.Tensor | np.ndarray
    if dtype is not None and accepts_dtype(stream):
        values = stream.normal(shape, dtype=dtype)
    else:
        values = stream.normal(shape)
    if not isinstance(values, torch.Tensor):
        values = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    return values.to(device=device if device is not None else "cpu",
                     dtype=dtype if dtype is not None else torch.float32)


def initial_latent(stream: NoiseStream, shape: Any, *, dtype: Any = None, device: Any = None):
    """The initial latent (the stream's next draw) for ``pipe(..., latents=...)``."""
    return draw(stream, shape, dtype=dtype, device=device)


@dataclass
class NoiseInjection:
    """What :func:`use_noise` yields: the stream and the shapes drawn so far."""

    stream: NoiseStream
    draws: list[tuple[int, ...]] = field(default_factory=list)


def _diffusers_modules() -> list[Any]:
    return [m for name, m in list(sys.modules.items())
            if m is not None and (name == "diffusers" or name.startswith("diffusers."))]


@contextlib.contextmanager
def use_noise(stream: NoiseStream) -> Iterator[NoiseInjection]:
    """Within the block, every diffusers ``randn_tensor`` call draws from ``stream``."""
    import diffusers.utils.torch_utils as torch_utils

    previous = torch_utils.randn_tensor
    injection = NoiseInjection(stream)

    def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None):
        # ``generator`` is ignored: the stream replaces it.  ``layout`` other
        # than strided is not supported by any noise source.
        import torch

        if layout is not None and layout != torch.strided:
            raise ValueError(f"noise streams give strided tensors, not {layout}")
        shape = check_shape(shape)
        injection.draws.append(shape)
        if isinstance(device, str):
            device = torch.device(device)
        return draw(stream, shape, dtype=dtype, device=device)

    randn_tensor.__aigif_noise__ = True  # type: ignore[attr-defined]

    for module in _diffusers_modules():
        if getattr(module, "randn_tensor", None) is previous:
            module.randn_tensor = randn_tensor
    try:
        yield injection
    finally:
        # Also catches modules imported inside the block, which copied the
        # patched name from torch_utils.
        for module in _diffusers_modules():
            if getattr(module, "randn_tensor", None) is randn_tensor:
                module.randn_tensor = previous
