"""Text block and text coders (SPEC.md §7): the N strings of a file <-> the text block.

Which module implements a coder is the registry's ``text_coders`` entry
(``module``). Each coder module has ``encode(strings) -> bytes`` and
``decode(block, count, limit) -> list[str]``, defined over its block alone
(offsets in its errors count from the block's first byte).
"""
from __future__ import annotations

import importlib

from ..errors import AigifError
from ..registry import load
from .framing import TEXT_LIMIT, frame


def coder(key: str):
    """The module of text coder ``key``; ``E_UNSUPPORTED`` if this build has none."""
    entry = load().table("text_coders").by_key.get(key)
    module = entry.get("module") if entry else None
    if module is None:
        raise AigifError("E_UNSUPPORTED", f"text coder {key!r} is not implemented by this decoder")
    try:
        return importlib.import_module(module)
    except ImportError:
        raise AigifError("E_UNSUPPORTED", f"text coder {key!r} is not available in this build") from None


def encode(key: str, strings: list[str]) -> bytes:
    for i, s in enumerate(strings):
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no UTF-8 form exists
            raise AigifError("E_UTF8", f"string {i} holds a code point that UTF-8 cannot encode") from None
    return coder(key).encode(strings)


def decode(key: str, data: bytes, start: int, end: int, count: int, limit: int = TEXT_LIMIT) -> list[str]:
    """The ``count`` strings of the text block ``data[start:end]`` (SPEC.md §9 step 8);
    errors carry file offsets."""
    try:
        strings = coder(key).decode(data[start:end], count, limit)
        frame(strings)  # the framed-text limit of SPEC.md §7.1 holds whatever the coder
    except AigifError as err:
        err.offset = start if err.offset is None else start + err.offset  # the block's offset in the file
        raise
    except ValueError as exc:  # a coder's own typed error (the prompt coder's TextCoderError)
        code = _CODER_CODES.get(getattr(exc, "code", ""), "E_TEXT_CORRUPT")  # never a raw exception (SPEC.md §16)
        raise AigifError(code, getattr(exc, "message", str(exc)), offset=start) from None
    except (OSError, RuntimeError) as exc:  # the coder's model file missing or not matching its SHA-256
        raise AigifError("E_UNSUPPORTED", f"text coder {key!r} cannot run here ({exc})", offset=start) from None
    return strings


# coder error codes -> SPEC.md §10 codes
_CODER_CODES = {"E_TEXT_CORRUPT": "E_TEXT_CORRUPT", "E_TEXT_LIMIT": "E_TEXT_LIMIT", "E_TEXT_NONCANONICAL": "E_NONCANONICAL",
                "E_NONCANONICAL": "E_NONCANONICAL", "E_UTF8": "E_UTF8", "E_OVERRUN": "E_OVERRUN"}
