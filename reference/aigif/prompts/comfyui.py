"""ComfyUI's prompt syntax, as its CLIP Text Encode node reads a prompt.

Follows ComfyUI ``comfy/sd1_clip.py`` at commit
b55c2247654476fbc744e572ba7a834fd9378745 (``token_weights``,
``parse_parentheses``, ``escape_important``, ``SDTokenizer.tokenize_with_weights``),
the version in which each weighted segment is tokenized whole (older versions
split it at spaces first, which gives the same tokens for CLIP's tokenizer,
and the same chunks except where a segment of 8 or more tokens meets a chunk
end). Written from a reading of that file and checked against its
``token_weights`` on the corpus in ``tests/data/prompts``; no code of it is used.

Only parentheses mean something: ``(x)`` multiplies by 1.1, ``(x:w)`` sets the
weight to w (a number as Python's ``float`` reads it, so also ``inf`` or
``1_0``), ``\\(`` and ``\\)`` are literal. Square brackets, ``BREAK``, ``AND``
and other backslashes are plain text. ``embedding:name`` loads a textual
inversion file, which this layer cannot do: ``chunks`` refuses it. Schedules
are made with nodes in ComfyUI, not in the text.
"""
from __future__ import annotations

import re

from .common import Chunk, Pieces, PromptSyntaxUnsupported, Tokenize, one_piece, whole

subprompts = one_piece
schedule = whole

ROUND = 1.1  #: ``(x)``
MAX_WORD_LENGTH = 8  #: a group of this many tokens or more may be split across chunks

# ComfyUI hides escaped parentheses behind these two-character codes while it
# parses; a prompt that already holds them gets parentheses back, as in ComfyUI.
_CLOSE_CODE, _OPEN_CODE = "\0\1", "\0\2"
_EMBEDDING = "embedding:"


def _escape(text: str) -> str:
    return text.replace("\\)", _CLOSE_CODE).replace("\\(", _OPEN_CODE)


def _unescape(text: str) -> str:
    return text.replace(_CLOSE_CODE, ")").replace(_OPEN_CODE, "(")


def _groups(text: str) -> list[str]:
    """Split at top-level parentheses: ``a (b (c)) d`` -> ``a ``, ``(b (c))``, `` d``.

    A ``)`` with nothing open drives the depth below zero, and until it is back
    at zero no parenthesis opens or closes a group (ComfyUI's counting).
    """
    out: list[str] = []
    item = ""
    depth = 0
    for c in text:
        if c == "(":
            if depth == 0:
                if item:
                    out.append(item)
                item = "("
            else:
                item += c
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                out.append(item + ")")
                item = ""
            else:
                item += c
        else:
            item += c
    if item:
        out.append(item)
    return out


def _weights(text: str, weight: float) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for item in _groups(text):
        if len(item) >= 2 and item[0] == "(" and item[-1] == ")":
            inner = item[1:-1]
            colon = inner.rfind(":")
            inner_weight = weight * ROUND
            if colon > 0:  # a ':' at index 0 is not a weight
                try:
                    inner_weight = float(inner[colon + 1 :])
                    inner = inner[:colon]
                except ValueError:
                    pass
            out += _weights(inner, inner_weight)
        else:
            out.append((item, weight))
    return out


def fragments(text: str) -> list[tuple[str, float]]:
    """ComfyUI's ``token_weights`` of the escaped text, each segment unescaped; no merging.

    Parentheses nested past Python's recursion limit make ComfyUI fail; here
    the text is then one piece at weight 1.0.
    """
    try:
        return [(_unescape(t), w) for t, w in _weights(_escape(text), 1.0)]
    except RecursionError:
        return [(text, 1.0)]


def words(segment: str) -> list[str]:
    """The segment cut before each `` embedding:`` or ``\\nembedding:`` (the separator's space or newline dropped)."""
    parts = re.split(f" {_EMBEDDING}|\n{_EMBEDDING}", segment)
    words = [parts[0]] + [_EMBEDDING + p for p in parts[1:]]
    return [w for w in words if w != ""]


def chunks(pieces: Pieces, tokenize: Tokenize, *, comma_token: int | None, chunk_len: int = 75) -> list[Chunk]:
    """``tokenize_with_weights``: each word's tokens are a group, placed whole in a chunk where they fit.

    A group that does not fit in what is left of the chunk starts the next
    chunk, unless it has ``MAX_WORD_LENGTH`` tokens or more: then it fills the
    chunk and goes on in the next. No comma back-track, no BREAK. An empty
    prompt is one empty chunk.
    """
    if chunk_len < MAX_WORD_LENGTH:
        raise ValueError(f"chunk_len {chunk_len} is below ComfyUI's word length {MAX_WORD_LENGTH}")
    weighted_words: list[tuple[str, float]] = []
    for text, weight in pieces:
        for word in words(text):
            if word.startswith(_EMBEDDING):
                raise PromptSyntaxUnsupported(word.split()[0])
            weighted_words.append((word, weight))
    out = [Chunk()]
    for tokens, (_, weight) in zip(tokenize([w for w, _ in weighted_words]), weighted_words):
        large = len(tokens) >= MAX_WORD_LENGTH
        while tokens:
            room = chunk_len - len(out[-1].tokens)
            if len(tokens) > room:
                if large:
                    out[-1].tokens += tokens[:room]
                    out[-1].weights += [weight] * len(tokens[:room])
                    tokens = tokens[room:]
                out.append(Chunk())
            else:
                out[-1].tokens += tokens
                out[-1].weights += [weight] * len(tokens)
                tokens = []
    return out
