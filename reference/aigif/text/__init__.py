"""Text coders (SPEC.md §7): the N strings of a file <-> the text block.

Each coder module has ``encode(strings) -> bytes`` and
``decode(block, count, limit) -> list[str]`` raising :class:`AigifError`.
"""
from __future__ import annotations

import importlib

from ..errors import AigifError
from .framing import TEXT_LIMIT

_MODULES = {"none": "none", "deflate": "deflate", "prompt": "prompt_coder"}


def coder(key: str):
    name = _MODULES.get(key)
    if name is None:
        raise AigifError("E_UNSUPPORTED", f"text coder {key!r} is not implemented by this decoder")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ImportError:
        raise AigifError("E_UNSUPPORTED", f"text coder {key!r} is not available in this build") from None


def encode(key: str, strings: list[str]) -> bytes:
    return coder(key).encode(strings)


def decode(key: str, block: bytes, count: int, limit: int = TEXT_LIMIT) -> list[str]:
    return coder(key).decode(block, count, limit)
