"""Framed text (SPEC.md §7.1): uvarint(len) + UTF-8 bytes per string."""
from __future__ import annotations

from ..errors import AigifError
from ..wire import read_uvarint, uvarint

TEXT_LIMIT = 65536


def frame(strings: list[str]) -> bytes:
    out = b"".join(uvarint(len(b)) + b for b in (s.encode("utf-8") for s in strings))
    if len(out) > TEXT_LIMIT:
        raise AigifError("E_TEXT_LIMIT", f"strings take {len(out)} bytes framed; the limit is {TEXT_LIMIT}")
    return out


def unframe(data: bytes, count: int) -> list[str]:
    """Split framed text into exactly ``count`` strings: framing first, then UTF-8
    string by string (SPEC.md §9 step 8). Offsets are relative to ``data``."""
    pos, end, raws = 0, len(data), []
    for i in range(count):
        n, pos = read_uvarint(data, pos, end)
        if n > end - pos:
            raise AigifError("E_OVERRUN", f"string {i} of {n} bytes runs past the end of the text", offset=pos)
        raws.append(data[pos:pos + n])
        pos += n
    if pos != end:
        raise AigifError("E_OVERRUN", f"{end - pos} bytes left after the last string", offset=pos)
    out = []
    for i, raw in enumerate(raws):
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise AigifError("E_UTF8", f"string {i} is not valid UTF-8") from None
    return out
