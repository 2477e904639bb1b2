"""Pixel codecs beyond PNG (SPEC.md §6.3, Appendix H).

- ``diffc`` (:mod:`.diffc`): generative, decoded with the file's own model;
- the learned-codec slot (:mod:`.learned`): codecs with their own trained
  weights, found by SHA-256 (``AIGIF_CODEC_WEIGHTS``), and ``test-linear``,
  the small codec that exercises the slot end to end.

:func:`decode_payload` is the one entry point a regenerator calls::

    from ..pixelcodecs import decode_payload
    return decode_payload(f, self)      # in Regenerator.payload_pixels, for codecs other than png

:func:`encode_payload` is the encoder side (``aigif encode-pixels``).
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..errors import AigifError
from ..file import AigifFile, PixelPayload

#: codecs this package decodes (keys of registry/pixel_codecs.json)
IMPLEMENTED = ("diffc", "test-linear")


def diffc_model(f: AigifFile, regen: Any):
    """The file's own model as diffc uses it: float32, whatever the file's dtype."""
    from .diffc import Model
    f32 = copy.copy(f)
    f32.dtype = "float32"
    pipe, _ = regen.pipeline(f32)
    if pipe.device.type != "cpu":
        raise AigifError("E_REGEN_UNSUPPORTED", "diffc version 1 is defined on the CPU (the regenerator runs on "
                         f"{pipe.device.type}; use Regenerator(device='cpu'))")
    cache = regen.__dict__.setdefault("_diffc_models", {})
    if id(pipe) not in cache:
        cache[id(pipe)] = Model(pipe)
    return cache[id(pipe)]


def decode_payload(f: AigifFile, regen: Any = None, weights_dirs: list | None = None) -> np.ndarray:
    """Canonical pixels (H, W, 3) of the file's pixel payload for a codec of
    this package; ``regen`` (an :class:`aigif.regen.Regenerator`) supplies the
    model for ``diffc``."""
    px = f.pixels
    if px is None:
        raise AigifError("E_UNSUPPORTED", "the file has no pixel payload")
    if px.codec == "diffc":
        if regen is None:
            raise AigifError("E_UNSUPPORTED", "the diffc pixel codec needs a regenerator (the file's model)")
        from . import diffc
        try:
            return diffc.decode(px.data, f.width, f.height, diffc_model(f, regen))
        except (RuntimeError, ValueError) as exc:
            raise AigifError("E_REGEN_UNSUPPORTED", f"diffc decode failed in the model: {str(exc).splitlines()[0][:200]}") from None
    if px.codec == "test-linear":
        from . import learned
        return learned.TEST_LINEAR.decode(px.data, f.width, f.height, weights_dirs)
    raise AigifError("E_UNSUPPORTED", f"pixel codec {px.codec} is not implemented")


def encode_payload(f: AigifFile, pixels: np.ndarray, codec: str, regen: Any = None, **options: Any) -> PixelPayload:
    """A pixel payload of ``pixels`` for file ``f`` (the size must be the file's)."""
    if pixels.shape[:2] != (f.height, f.width):
        raise AigifError("E_PAYLOAD", f"the image is {pixels.shape[1]}×{pixels.shape[0]}; the file says {f.width}×{f.height}")
    if codec == "png":
        from ..regen.pixels import encode_png
        return PixelPayload("png", encode_png(pixels))
    if codec == "diffc":
        from . import diffc
        opts = {"seed": f.seed, **options}
        return PixelPayload("diffc", diffc.encode(pixels, diffc_model(f, regen), **opts).payload)
    if codec == "test-linear":
        from . import learned
        return PixelPayload("test-linear", learned.TEST_LINEAR.encode(pixels, **options))
    raise AigifError("E_UNSUPPORTED", f"pixel codec {codec} has no encoder here")
