"""The plain syntax: the prompt is the text the tokenizer reads, as diffusers' pipelines use it.

Follows diffusers (0.2x to 0.42) ``encode_prompt``: the tokenizer is called with
``max_length=tokenizer.model_max_length`` (77 for CLIP) and ``truncation=True``,
so the text is one chunk of its first 75 tokens between bos and eos; the rest
is dropped. No character has a meaning of its own and there is no schedule.
"""
from __future__ import annotations

from .common import Chunk, Pieces, Tokenize, one_piece, whole

subprompts = one_piece
schedule = whole


def fragments(text: str) -> list[tuple[str, float]]:
    """The whole text at weight 1.0."""
    return [(text, 1.0)]


def chunks(pieces: Pieces, tokenize: Tokenize, *, comma_token: int | None, chunk_len: int = 75) -> list[Chunk]:
    """One chunk: the pieces' tokens in order, cut after ``chunk_len`` (diffusers truncates)."""
    tokens: list[int] = []
    weights: list[float] = []
    for ids, (_, weight) in zip(tokenize([t for t, _ in pieces]), pieces):
        tokens += ids
        weights += [weight] * len(ids)
    return [Chunk(tokens[:chunk_len], weights[:chunk_len])]
