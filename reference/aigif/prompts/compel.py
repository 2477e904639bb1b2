"""Compel's prompt syntax (InvokeAI, and diffusers users of the compel library).

Follows compel 2.5.1 (``compel/prompt_parser.py``, ``compel/embeddings_provider.py``),
the release InvokeAI 5 depends on. Written from a reading of it and checked
against its ``PromptParser.parse_conjunction`` on the corpus in
``tests/data/prompts``; no code of it is used.

What is implemented exactly is compel's weighting by a per-token multiplier:
``word+`` / ``word-`` (x1.1 / x0.9 per sign, ``pow(base, count)``),
``(words)+``, ``(words)1.3``, plain ``(words)`` (grouping, weight 1), nesting
(outer weight times inner), and compel's text normalisation (a space after a
comma, words rejoined with single spaces). Compel applies a weight w >= 1 to
token embeddings as ``empty + (z - empty) * w``. Everything else raises
``PromptSyntaxUnsupported`` naming it:

- a weight below 1: compel does not multiply, it blends the prompt's
  embedding towards an embedding with those tokens masked out, by
  ``tan((1 - w) * pi / 2)``;
- ``.blend()``, ``.and()``/``.add()``, ``.swap()``, ``.attend()``,
  ``useLora()``/``withLora()``: several encodings, cross-attention control
  or model changes;
- quoted fragments and backslash escapes, whose grammar is compel's
  recursive re-parse, and form feeds and vertical tabs (neither whitespace
  nor text to compel);
- a prompt longer than ``chunk_len`` tokens: compel truncates it by default
  and InvokeAI splits it at a sentence, phrase or word end; the file does not
  say which.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .common import Chunk, Pieces, PromptSyntaxUnsupported, Tokenize, one_piece, whole

subprompts = one_piece
schedule = whole

PLUS, MINUS = 1.1, 0.9  #: compel's attention_plus_base and attention_minus_base

REFUSED = (".blend(", ".and(", ".add(", ".swap(", ".attend(", "useLora(", "withLora(", '"', "\\", "\x0b", "\x0c")
_SKIP = " \n\t\r"  # pyparsing's default whitespace
_WHITE = " \t\n\r\x0b\x0c"  # Python's string.whitespace, where compel's free words end
# A word without syntax: characters other than whitespace and syntax, and '+'/'-' that another such character follows.
_WORD = re.compile(r"(?:[+-](?=[^ \t\n\r\x0b\x0c()\",.+\-=])|[^ \t\n\r\x0b\x0c()\",.+\-=])+")
_NUMBER = re.compile(r"\d+\.\d*|\.\d+|[0-9]+")  # pyparsing_common.real, then an integer (a sign is a weight)


@dataclass
class _Group:
    weight: float
    children: list[str | _Group]


def _skip(s: str, i: int) -> int:
    while i < len(s) and s[i] in _SKIP:
        i += 1
    return i


def _suffix(s: str, i: int, number: bool) -> tuple[float, int] | None:
    """A weight written right after a term: a run of '+' or '-', or (after parentheses) a number."""
    if i >= len(s) or s[i] in _SKIP:
        return None
    if s[i] in "+-":
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        return (PLUS if s[i] == "+" else MINUS) ** (j - i), j
    m = _NUMBER.match(s, i) if number else None
    return (float(m.group(0)), m.end()) if m else None


def _parenthesized(s: str, i: int) -> tuple[list[str | _Group], int] | None:
    """``( ... )`` holding words, weighted terms, groups, commas and periods; None if it does not close."""
    if i >= len(s) or s[i] != "(":
        return None
    items: list[str | _Group] = []
    i += 1
    while True:
        i = _skip(s, i)
        term = _weighted(s, i)
        if term is not None:
            items.append(term[0])
            i = term[1]
            continue
        group = _parenthesized(s, i)
        if group is not None:
            items.append(_Group(1.0, group[0]))
            i = group[1]
            continue
        m = _WORD.match(s, i)
        if m:
            items.append(m.group(0))
            i = m.end()
        elif i < len(s) and s[i] in ",.":
            items.append(s[i])
            i += 1
        elif i < len(s) and s[i] == ")":
            return items, i + 1
        else:
            return None


def _weighted(s: str, i: int) -> tuple[_Group, int] | None:
    """``(terms)W`` or ``word+``/``word-`` at ``i``."""
    group = _parenthesized(s, i)
    if group is not None:
        w = _suffix(s, group[1], number=True)
        return (_Group(w[0], group[0]), w[1]) if w else None
    m = _WORD.match(s, i)
    if m:
        w = _suffix(s, m.end(), number=False)
        return (_Group(w[0], [m.group(0)]), w[1]) if w else None
    return None


def _flatten(items: list[str | _Group], scale: float, out: list[tuple[str, float]]) -> None:
    for item in items:
        if isinstance(item, str):
            out.append((item, 1.0 * scale))
        else:
            _flatten(item.children, scale * item.weight, out)


def _top_level(text: str) -> list[str | _Group]:
    """The prompt's terms: weighted terms, groups, and free words (anything up to whitespace)."""
    items: list[str | _Group] = []
    i = _skip(text, 0)
    while i < len(text):
        term = _weighted(text, i)
        if term is not None:
            items.append(term[0])
            i = term[1]
        elif (group := _parenthesized(text, i)) is not None:
            items.append(_Group(1.0, group[0]))
            i = group[1]
        else:
            j = i
            while j < len(text) and text[j] not in _WHITE:
                j += 1
            items.append(text[i:j])
            i = j
        i = _skip(text, i)
    return items


def fragments(text: str) -> list[tuple[str, float]]:
    """Compel's flattened fragments: text pieces of equal weight joined by one space."""
    for construct in REFUSED:
        if construct in text:
            raise PromptSyntaxUnsupported(construct.strip("(") or construct)
    text = re.sub(r",(\S)", r", \1", text)
    if not text.strip():
        return [("", 1.0)]
    flat: list[tuple[str, float]] = []
    try:
        _flatten(_top_level(text), 1.0, flat)
    except RecursionError:  # compel's parser fails on it too
        raise PromptSyntaxUnsupported("parentheses nested too deep") from None
    if not flat:  # e.g. "()": compel's conjunction is then empty, and it encodes nothing
        raise PromptSyntaxUnsupported("a prompt whose groups hold no text")
    fused: list[tuple[str, float]] = []
    for piece, weight in flat:
        if weight < 1:
            raise PromptSyntaxUnsupported(f"downweighting {piece!r} to {weight}")
        if fused and fused[-1][1] == weight:
            fused[-1] = (fused[-1][0] + " " + piece, weight)
        else:
            fused.append((piece, weight))
    return fused


def chunks(pieces: Pieces, tokenize: Tokenize, *, comma_token: int | None, chunk_len: int = 75) -> list[Chunk]:
    """One chunk: each fragment tokenized on its own, concatenated; longer prompts are refused (see above)."""
    chunk = Chunk()
    for ids, (_, weight) in zip(tokenize([t for t, _ in pieces]), pieces):
        chunk.tokens += ids
        chunk.weights += [weight] * len(ids)
    if len(chunk.tokens) > chunk_len:
        raise PromptSyntaxUnsupported(f"a compel prompt of more than {chunk_len} tokens")
    return [chunk]
