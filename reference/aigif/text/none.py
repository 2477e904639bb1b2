"""Text coder ``none`` (SPEC.md §7.2): the text block is the framed text."""
from __future__ import annotations

from ..errors import AigifError
from .framing import TEXT_LIMIT, frame, unframe


def encode(strings: list[str]) -> bytes:
    return frame(strings)


def decode(block: bytes, count: int, limit: int = TEXT_LIMIT) -> list[str]:
    if len(block) > limit:
        raise AigifError("E_TEXT_LIMIT", f"text block of {len(block)} bytes exceeds {limit}")
    return unframe(block, count)
