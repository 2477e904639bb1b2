"""What the syntax modules share: the chunk type, the error, the tokenizer's signature."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: The model tokenizer applied to each piece's text: no special tokens, no truncation.
Tokenize = Callable[[list[str]], list[list[int]]]
#: A prompt's weighted pieces, in order: (text, weight); ``("BREAK", -1.0)`` ends a chunk where a syntax has BREAK.
Pieces = list[tuple[str, float]]


class PromptSyntaxUnsupported(Exception):
    """A construct of the prompt that this implementation cannot apply exactly.

    ``construct`` names it (for example ``".blend()"``); the regenerator reports it
    with ``E_REGEN_UNSUPPORTED`` rather than produce a different image.
    """

    def __init__(self, construct: str):
        super().__init__(f"prompt construct not supported: {construct}")
        self.construct = construct


@dataclass
class Chunk:
    """One text-encoder input: token ids and their weights, without bos/eos (``len(tokens) <= chunk_len``)."""

    tokens: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


def one_piece(text: str) -> list[tuple[str, float]]:
    """The parts of a prompt that has no composition: itself at weight 1."""
    return [(text, 1.0)]


def whole(text: str, steps: int, *, hires_steps: int | None = None, old_scheduling: bool = False) -> list[tuple[int, str]]:
    """The schedule of a syntax without prompt editing: the text for all steps (of the hires pass, if given).

    The keywords are A1111's schedule options, taken so that every syntax's
    ``schedule`` is called alike; without editing ``old_scheduling`` changes nothing.
    """
    return [(steps if hires_steps is None else hires_steps, text)]


def merge_equal(res: list[list]) -> list[tuple[str, float]]:
    """Adjacent ``[text, weight]`` pieces of equal weight joined into one (A1111's and
    NovelAI's last step); no pieces at all is one empty piece of weight 1."""
    if not res:
        return [("", 1.0)]
    merged: list[list] = [res[0]]
    for piece in res[1:]:
        if piece[1] == merged[-1][1]:
            merged[-1][0] += piece[0]
        else:
            merged.append(piece)
    return [(t, float(w)) for t, w in merged]
