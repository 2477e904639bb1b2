"""AUTOMATIC1111 "stealth pnginfo" (sd-webui-stealth-pnginfo; NovelAI writes it too).

The metadata hides in the least significant bits of the alpha channel
(signatures ``stealth_pnginfo`` / ``stealth_pngcomp``) or of R, G, B in turn
(``stealth_rgbinfo`` / ``stealth_rgbcomp``), read column by column (x outer,
y inner): the 15-byte signature, a 32-bit big-endian payload length *in
bits*, the payload (gzip for the ``*comp`` signatures). The payload is A1111
infotext, or NovelAI's JSON object of its PNG text chunks: either way it is
handed on as the text items the PNG would have carried.

Searched only in 8-bit RGB / RGBA PNGs of at most :data:`MAX_STEALTH_PIXELS`
pixels, and only the columns that hold the signature, the length and the
payload are converted. Pillow decodes the pixels (the one thing it is used
for). sd-parsers' reader knows only the alpha ``stealth_pngcomp`` variant,
builds a Python tuple for every pixel of the image (gigabytes for 4K) and
has no size cap.
"""
from __future__ import annotations

import io
import json
import warnings
import zlib

from ..errors import E_IMPORT_MALFORMED, ImportFailure
from .base import MAX_STEALTH_PIXELS, Budget, RawMetadata, TextItem, inflate

_SIGNATURES = {  # signature -> (channels, gzip-compressed)
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
_HEAD_BITS = 15 * 8 + 32
_LSB_TO_ASCII = bytes((ord("0") + (b & 1)) for b in range(256))


def _bits_to_bytes(bits: bytes) -> bytes:
    """b'0101...' (length a multiple of 8) -> bytes."""
    if not bits:
        return b""
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _payload(data: bytes, w: int, h: int) -> tuple[bytes, bytes, str] | None:
    """(signature, raw payload, channels) of the first stealth block in the pixels, None if there is none."""
    from PIL import Image

    def lsb_bits(im, mode: str, nbits: int) -> bytes:
        npix = -(-nbits // (1 if mode == "alpha" else 3))  # ceiling divisions
        cols = min(w, -(-npix // h))
        region = im.crop((0, 0, cols, h))
        region = region.getchannel("A") if mode == "alpha" else region.convert("RGB")
        return region.transpose(Image.Transpose.TRANSPOSE).tobytes().translate(_LSB_TO_ASCII)[:nbits]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im = Image.open(io.BytesIO(data))
        if im.size != (w, h) or im.mode not in ("RGB", "RGBA"):
            return None
        im.load()
        for mode in ("alpha", "rgb") if im.mode == "RGBA" else ("rgb",):
            head = lsb_bits(im, mode, _HEAD_BITS)
            sig = _bits_to_bytes(head[:120]) if len(head) >= 120 else b""
            if _SIGNATURES.get(sig, ("", False))[0] != mode:
                continue
            if len(head) < _HEAD_BITS:
                raise ImportFailure(E_IMPORT_MALFORMED, "stealth info: signature found but no length follows")
            nbits = int(head[120:_HEAD_BITS], 2)
            if nbits % 8 or _HEAD_BITS + nbits > w * h * (1 if mode == "alpha" else 3):
                raise ImportFailure(E_IMPORT_MALFORMED, f"stealth info: payload length {nbits} bits does not fit the image")
            return sig, _bits_to_bytes(lsb_bits(im, mode, _HEAD_BITS + nbits)[_HEAD_BITS:]), mode
    return None


def _items(text: str, container: str) -> list[TextItem]:
    """A1111 infotext is the ``parameters`` text; NovelAI's JSON object is its text chunks, key by key."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict) and all(isinstance(k, str) for k in data):
            return [TextItem(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False), container)
                    for k, v in data.items()]
    return [TextItem("parameters", text, container)]


def read(data: bytes, meta: RawMetadata, budget: Budget) -> list[TextItem]:
    """The text items hidden in the pixels of a PNG (none when there is no stealth block)."""
    if meta.format != "PNG" or meta.png_color not in ((8, 2), (8, 6)) or meta.image_size is None:
        return []
    w, h = meta.image_size
    if w * h > MAX_STEALTH_PIXELS:
        meta.notes.append(f"stealth info not searched: {w}x{h} exceeds {MAX_STEALTH_PIXELS} pixels")
        return []
    if w * h < 40:
        return []  # too small to hold even a signature
    try:
        import PIL  # noqa: F401
    except ImportError:  # pragma: no cover - pillow is a dependency of the import extra
        meta.notes.append("stealth info not searched: Pillow is not installed")
        return []
    try:
        found = _payload(data, w, h)
    except ImportFailure:
        raise
    except Exception as e:  # Pillow's decoders raise many types on damaged pixel data
        raise ImportFailure(E_IMPORT_MALFORMED,
                            f"PNG pixel data could not be decoded while looking for stealth info ({type(e).__name__})") from None
    if found is None:
        return []
    sig, payload, mode = found
    what = f"stealth {sig.decode()}"
    if _SIGNATURES[sig][1]:
        payload = inflate(payload, what, wbits=16 + zlib.MAX_WBITS)
    budget.take(len(payload), what)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{what}: payload is not valid UTF-8") from None
    return _items(text, f"png:{sig.decode()}:{mode}")
