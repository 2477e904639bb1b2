"""NovelAI's emphasis: ``{x}`` multiplies x's weight by 1.05, ``[x]`` divides it by 1.05.

NovelAI's image models (V1 to V3, on Stable Diffusion) and their text handling
are not public, so nothing here can be checked against the service; this
follows NovelAI's own documentation of the brackets ("each pair of {} is a
factor of 1.05, each pair of [] divides by 1.05") and, for what the
documentation does not say, resolves it as A1111 resolves its brackets:
weights apply innermost first when a bracket closes, an unclosed bracket
applies to the end of the text, a closer with nothing open is text, equal
neighbours merge. There is no escape character and no schedule. NovelAI V4's
``1.5::text::`` weights are not read (they stay text): a file from V4 cannot
be regenerated anyway. Chunking is A1111's, which NovelAI's V1-V3 leaks
describe as the same 75-token scheme; it is not checked.
"""
from __future__ import annotations

from . import a1111
from .common import Chunk, Pieces, Tokenize, merge_equal, one_piece, whole

subprompts = one_piece
schedule = whole

CURLY = 1.05  #: ``{x}`` multiplies by this; ``[x]`` divides by it


def fragments(text: str) -> list[tuple[str, float]]:
    """The weighted pieces of ``text``: each closed ``{}`` multiplies by 1.05, each ``[]`` divides."""
    res: list[list] = []
    open_at: dict[str, list[int]] = {"{": [], "[": []}
    run = ""

    def flush() -> None:
        nonlocal run
        if run:
            res.append([run, 1.0])
            run = ""

    for c in text:
        if c in open_at:
            flush()
            open_at[c].append(len(res))
        elif c in "}]" and open_at["{" if c == "}" else "["]:
            flush()
            _apply(res, open_at["{" if c == "}" else "["].pop(), c == "}")
        else:
            run += c
    flush()
    for start in open_at["{"]:
        _apply(res, start, True)
    for start in open_at["["]:
        _apply(res, start, False)
    return merge_equal(res)


def _apply(res: list[list], start: int, up: bool) -> None:
    for piece in res[start:]:
        piece[1] = piece[1] * CURLY if up else piece[1] / CURLY


def chunks(pieces: Pieces, tokenize: Tokenize, *, comma_token: int | None, chunk_len: int = 75) -> list[Chunk]:
    """A1111's chunking (75 tokens, comma back-track); NovelAI has no BREAK, so no piece is one."""
    # a piece ("BREAK", -1.0) cannot come out of fragments() above: weights stay positive
    return a1111.chunks(pieces, tokenize, comma_token=comma_token, chunk_len=chunk_len)
