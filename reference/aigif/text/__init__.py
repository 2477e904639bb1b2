"""Text coders (SPEC.md §7): the N strings of a file <-> the text block.

Each coder module has ``encode(strings) -> bytes`` and
``decode(block, count, limit) -> list[str]`` raising :class:`AigifError`.
"""
from __future__ import annotations

import importlib

from ..errors import AigifError
from .framing import TEXT_LIMIT, frame

_MODULES = {"none": "none", "deflate": "deflate", "prompt": "prompt"}


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
    try:
        strings = coder(key).decode(block, count, limit)
    except AigifError:
        raise
    except ValueError as exc:  # a coder's own typed error (the prompt coder's TextCoderError)
        code = _CODER_CODES.get(getattr(exc, "code", None), "E_TEXT_CORRUPT")  # never a raw exception (SPEC.md §16)
        raise AigifError(code, getattr(exc, "message", str(exc))) from None
    except (OSError, RuntimeError) as exc:  # the coder's model file missing or not matching its SHA-256
        raise AigifError("E_UNSUPPORTED", f"text coder {key!r} cannot run here ({exc})") from None
    frame(strings)  # the framed-text limit of SPEC.md §7.1 holds whatever the coder
    return strings


# coder error codes -> SPEC.md §10 codes
_CODER_CODES = {"E_TEXT_CORRUPT": "E_TEXT_CORRUPT", "E_TEXT_LIMIT": "E_TEXT_LIMIT", "E_TEXT_NONCANONICAL": "E_NONCANONICAL",
                "E_NONCANONICAL": "E_NONCANONICAL", "E_UTF8": "E_UTF8", "E_OVERRUN": "E_OVERRUN"}
