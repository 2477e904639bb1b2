"""Canonical pixels (SPEC.md §6.1), digests, PSNR (SPEC.md §12.8) and PNG I/O."""
from __future__ import annotations

import hashlib
import io
import math

import numpy as np

from ..errors import AigifError
from ..sections import png_size

MAX_PIXELS = 16384 * 16384


def canonical(image) -> np.ndarray:
    """8-bit RGB array (H, W, 3) of a PIL image or array."""
    arr = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError("canonical pixels are 8-bit RGB")
    return np.ascontiguousarray(arr)


def digest(pixels: np.ndarray, length: int = 8) -> bytes:
    return hashlib.sha256(pixels.tobytes()).digest()[:length]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR over all channels of 8-bit RGB; inf when identical."""
    if a.shape != b.shape:
        raise ValueError(f"image sizes differ: {a.shape} vs {b.shape}")
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def encode_png(pixels: np.ndarray) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def decode_png(data: bytes, width: int, height: int) -> np.ndarray:
    """Decode a PNG payload after checking its header against the file (no
    pixel is decoded before the size check: a PNG bomb stops here)."""
    from PIL import Image
    w, h = png_size(data)
    if (w, h) != (width, height) or w * h > MAX_PIXELS:
        raise AigifError("E_PAYLOAD", f"PNG payload is {w}×{h}; the file says {width}×{height}")
    # The check above bounds the image by SPEC.md §11 (16384 x 16384), above
    # Pillow's own decompression-bomb heuristic (89.5 Mpixel warning, 179 Mpixel
    # DecompressionBombError, not an OSError): lift that heuristic for this call.
    # Pillow raises many exception types on damaged data: all are E_PAYLOAD.
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return canonical(im)
    except MemoryError:
        raise AigifError("E_LIMIT", f"not enough memory to decode a {w}×{h} pixel payload") from None
    except Exception as exc:
        raise AigifError("E_PAYLOAD", f"PNG payload does not decode: {type(exc).__name__}: {exc}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved
