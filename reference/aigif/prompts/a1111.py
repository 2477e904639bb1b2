"""AUTOMATIC1111 stable-diffusion-webui prompt syntax (also Forge, which keeps these files unchanged).

Follows A1111 at commit 28bd8e142d5f77b71ae8d7d7140b5da1b3a49906 (the v1.10 line;
``modules/prompt_parser.py`` has not changed in behaviour since v1.6.0, which
added the hires-fix step offsets and the "old scheduling" option), with
``modules/sd_hijack_clip.py`` (chunking) and ``modules/extra_networks.py``
(``<lora:...>`` tags). It is the version that writes the infotext of nearly
every A1111/Forge image in circulation. Written from a reading of those files
and checked against their output on the corpus in ``tests/data/prompts``; no
code of theirs is used.

The order in which A1111 applies the pieces to a positive prompt is
``extra_networks`` (tags removed), ``subprompts`` (``AND``), then for each part
``schedule``, then for each schedule entry ``fragments`` and ``chunks``. A
negative prompt skips ``subprompts``.

Where A1111 itself fails (a weight literal ``float()`` rejects, a step number
``int()`` cannot hold, brackets nested past Python's recursion limit) it stops
the generation with a traceback; no image has such a prompt, and these
functions instead read the literal as text, clamp the step, or take the whole
prompt as text, so that they never raise.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from .common import Chunk, Pieces, PromptSyntaxUnsupported, Tokenize, merge_equal

# ---------------------------------------------------------------------------
# Extra networks and composable prompts (processed before anything else)

_EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")


def extra_networks(text: str) -> tuple[str, list[tuple[str, list[str]]]]:
    """The prompt without its ``<name:arg:...>`` tags, and the tags as ``(name, args)`` in order.

    A1111 removes every such tag (known network type or not) before it parses
    the prompt; a LoRA named there changes the model, which the caller must
    apply or refuse.
    """
    found: list[tuple[str, list[str]]] = []

    def take(m: re.Match[str]) -> str:
        found.append((m.group(1), m.group(2).split(":")))
        return ""

    return _EXTRA_NETWORK.sub(take, text), found


_AND = re.compile(r"\bAND\b")
_PART_WEIGHT = re.compile(r"^((?:\s|.)*?)(?:\s*:\s*([-+]?(?:\d+\.?|\d*\.\d+)))?\s*$")


def subprompts(text: str) -> list[tuple[str, float]]:
    """A positive prompt's ``AND`` parts and their weights (``a:1.2 AND b`` -> ``[("a", 1.2), (" b", 1.0)]``).

    Each part's text loses its trailing whitespace and its trailing ``:weight``;
    the weight multiplies that part's guidance term. A prompt without ``AND``
    is one part, whose trailing ``:weight`` counts all the same.
    """
    parts = []
    for part in _AND.split(text):
        m = _PART_WEIGHT.search(part)
        if m is None:  # the pattern matches every string; kept for the type checker
            parts.append((part, 1.0))
            continue
        parts.append((m.group(1), float(m.group(2)) if m.group(2) is not None else 1.0))
    return parts


# ---------------------------------------------------------------------------
# Prompt editing and alternation: the schedule

# The schedule grammar's terminals (A1111's lark grammar); `plain` covers whitespace too.
_PLAIN = re.compile(r"(?:[^\\\[\]():|]|\\.)+")
_SPACE = re.compile(r"\s+")
# lark's common.SIGNED_NUMBER: ASCII digits, optional sign, decimal point and exponent
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_STRAY = "[]():"  # characters the top level may hold outside any construct


@dataclass
class _Edit:
    """``[before:after:when]``; ``before`` is None for ``[after:when]``."""

    before: list[_Node] | None
    after: list[_Node]
    when: str
    step: int = 0  # filled by _collect


@dataclass
class _Alternate:
    options: list[list[_Node]]


_Node = str | _Edit | _Alternate


class _Fail(Exception):
    """The text is not in the grammar: A1111 then uses the whole prompt for every step."""


def _prompt(s: str, i: int) -> tuple[list[_Node], int]:
    """A nested prompt from ``i``: text and constructs up to the first character that ends it."""
    items: list[_Node] = []
    while i < len(s):
        c = s[i]
        if c in "[(":
            node, i = _construct(s, i)
            items.extend(node)
            continue
        m = _PLAIN.match(s, i)
        if m is None:  # one of ] ) : | or a backslash with nothing it may escape
            break
        items.append(m.group(0))
        i = m.end()
    return items, i


def _number_tail(s: str, i: int) -> tuple[str, int] | None:
    """``[space] NUMBER [space] ]`` from ``i``: the number and the index after ``]``."""
    m = _SPACE.match(s, i)
    if m:
        i = m.end()
    m = _NUMBER.match(s, i)
    if m is None:
        return None
    number, i = m.group(0), m.end()
    m = _SPACE.match(s, i)
    if m:
        i = m.end()
    if i < len(s) and s[i] == "]":
        return number, i + 1
    return None


def _construct(s: str, i: int) -> tuple[list[_Node], int]:
    """The emphasis, edit or alternation that opens at ``s[i]``; ``_Fail`` if none closes."""
    opener = s[i]
    first, j = _prompt(s, i + 1)
    c = s[j] if j < len(s) else ""
    if opener == "(":
        if c == ")":
            return ["(", *first, ")"], j + 1
        if c == ":":
            second, k = _prompt(s, j + 1)
            if k < len(s) and s[k] == ")":
                return ["(", *first, ":", *second, ")"], k + 1
        raise _Fail
    if c == "]":
        return ["[", *first, "]"], j + 1
    if c == "|":
        options = [first]
        while j < len(s) and s[j] == "|":
            option, j = _prompt(s, j + 1)
            options.append(option)
        if j < len(s) and s[j] == "]":
            return [_Alternate(options)], j + 1
        raise _Fail
    if c == ":":
        tail = _number_tail(s, j + 1)
        if tail is not None:
            return [_Edit(None, first, tail[0])], tail[1]
        second, k = _prompt(s, j + 1)
        if k < len(s) and s[k] == ":":
            tail = _number_tail(s, k + 1)
            if tail is not None:
                return [_Edit(first, second, tail[0])], tail[1]
    raise _Fail


def _parse(s: str) -> list[_Node]:
    """The top level: nested prompts, and stray brackets and colons that open or close nothing."""
    items: list[_Node] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c in "[(":
            try:
                node, i = _construct(s, i)
            except _Fail:
                items.append(c)
                i += 1
                continue
            items.extend(node)
        elif c in _STRAY:
            items.append(c)
            i += 1
        else:
            m = _PLAIN.match(s, i)
            if m is None:  # '|' outside an alternation, or a backslash at the end or before a newline
                raise _Fail
            items.append(m.group(0))
            i = m.end()
    return items


def _step_of(number: str, steps: int, base_steps: int | None, old_scheduling: bool) -> int:
    """The last step an edit's ``before`` is in force, as A1111 computes it."""
    v = float(number)
    if old_scheduling:
        v = v * steps if v < 1 else v
    elif "." in number:  # a fraction; in a hires pass 1.0 is the end of the base pass
        v = (v - (0.0 if base_steps is None else 1.0)) * steps
    else:  # a step number; in a hires pass it counts on from the base pass
        v -= base_steps or 0
    if math.isinf(v):  # A1111 raises OverflowError here; the limit is what min() would give
        return steps if v > 0 else -1
    return min(steps, int(v))


def _collect(nodes: list[_Node], steps: int, found: set[int], when: Callable[[str], int]) -> None:
    for node in nodes:
        if isinstance(node, _Edit):
            node.step = when(node.when)
            if node.step >= 1:
                found.add(node.step)
            if node.before is not None:
                _collect(node.before, steps, found, when)
            _collect(node.after, steps, found, when)
        elif isinstance(node, _Alternate):
            found.update(range(1, steps + 1))
            for option in node.options:
                _collect(option, steps, found, when)


def _text_at(nodes: list[_Node], step: int) -> str:
    out = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Edit):
            if step <= node.step:
                out.append(_text_at(node.before, step) if node.before is not None else "")
            else:
                out.append(_text_at(node.after, step))
        else:
            out.append(_text_at(node.options[(step - 1) % len(node.options)], step))
    return "".join(out)


def schedule(text: str, steps: int, *, hires_steps: int | None = None, old_scheduling: bool = False) -> list[tuple[int, str]]:
    """``[(end_at_step, text), ...]`` in increasing ``end_at_step``; the last ends at ``steps``.

    ``[from:to:when]`` shows ``from`` up to step ``when`` and ``to`` after it;
    ``when`` with a ``.`` is a fraction of ``steps``, otherwise a step number.
    ``[a|b]`` cycles a, b, a, ... one step each. With ``hires_steps`` (the
    hires-fix pass of A1111 1.6+), the schedule is over the hires steps:
    integers count on from the base pass (``[x:25]`` with 20 base steps is step
    5 of hires) and fractions from 1.0. ``old_scheduling`` is A1111's
    compatibility option: any ``when`` below 1 is a fraction, and hires steps
    restart at 1.
    """
    if hires_steps is None or old_scheduling:
        base, total = None, steps
    else:
        base, total = steps, hires_steps
    try:
        tree = _parse(text)
        found = {total}
        _collect(tree, total, found, lambda n: _step_of(n, total, base, old_scheduling))
        return [(step, _text_at(tree, step)) for step in sorted(found)]
    except (_Fail, RecursionError):  # RecursionError: nesting deeper than A1111's own parse survives
        return [(total, text)]


# ---------------------------------------------------------------------------
# Emphasis: fragments

_ATTENTION = re.compile(
    r"""
    (?P<escaped>\\[()\[\]\\])           # \( \) \[ \] \\ : the character itself
    | (?P<backslash>\\)                  # any other backslash: dropped
    | (?P<open>[(\[])
    | :\s*(?P<weight>[+-]?[.\d]+)\s*\)   # closes a ( with an explicit weight
    | (?P<close>[)\]])
    | (?P<text>[^\\()\[\]:]+ | :)
    """,
    re.X,
)
_BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)

ROUND = 1.1  #: ``(x)``
SQUARE = 1 / 1.1  #: ``[x]``: the binary64 value of 1/1.1, used as a multiplier (not a division by 1.1)
BREAK = ("BREAK", -1.0)  #: the fragment that starts a new chunk

EMPHASIS_MODES = ("Original", "No norm", "Ignore", "None")
#: the same modes as command lines spell them (``aigif encode --emphasis no-norm``); index = the `prompts` extension's value
EMPHASIS_KEYS = tuple(m.lower().replace(" ", "-") for m in EMPHASIS_MODES)


def fragments(text: str, *, emphasis: str = "Original") -> list[tuple[str, float]]:
    """The weighted pieces of one schedule entry's text, as ``parse_prompt_attention`` gives them.

    Weights start at 1.0; each bracket multiplies every piece inside it when it
    closes, inner brackets first, so ``(((house:1.3))`` is
    ``1.3 * 1.1 * 1.1 = 1.5730000000000004``: the unclosed ``(`` applies at the
    end, after all closed ones (round before square, each in opening order).
    Adjacent pieces of equal weight are merged. ``emphasis="None"`` (A1111's
    option) turns the parsing off: the text is one piece, brackets and all.
    """
    if emphasis not in EMPHASIS_MODES:
        raise PromptSyntaxUnsupported(f"emphasis mode {emphasis!r}")
    if emphasis == "None":
        return [(text, 1.0)]
    res: list[list] = []  # [text, weight] pairs, weights updated in place
    round_open: list[int] = []
    square_open: list[int] = []

    def multiply(start: int, by: float) -> None:
        for piece in res[start:]:
            piece[1] *= by

    def add_text(run: str) -> None:
        for n, part in enumerate(_BREAK.split(run)):
            if n:
                res.append(list(BREAK))
            res.append([part, 1.0])

    for m in _ATTENTION.finditer(text):
        kind = m.lastgroup
        token = m.group(0)
        if kind == "escaped":
            res.append([token[1], 1.0])
        elif kind == "backslash":
            res.append(["", 1.0])
        elif kind == "open":
            (round_open if token == "(" else square_open).append(len(res))
        elif m.group("weight") is not None and round_open and _is_float(m.group("weight")):
            multiply(round_open.pop(), float(m.group("weight")))
        elif token == ")" and round_open:
            multiply(round_open.pop(), ROUND)
        elif token == "]" and square_open:
            multiply(square_open.pop(), SQUARE)
        else:  # text, or a bracket or weight that closes nothing
            add_text(token)
    for start in round_open:
        multiply(start, ROUND)
    for start in square_open:
        multiply(start, SQUARE)
    return merge_equal(res)


def _is_float(literal: str) -> bool:
    """Whether ``float()`` takes a weight literal (``[.\\d]+`` also matches ``1.2.3``, on which A1111 fails)."""
    try:
        float(literal)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------
# Tokens: chunks

COMMA_BACKTRACK = 20  #: A1111's ``comma_padding_backtrack`` default


def chunks(
    pieces: Pieces,
    tokenize: Tokenize,
    *,
    comma_token: int | None,
    chunk_len: int = 75,
    backtrack: int = COMMA_BACKTRACK,
) -> list[Chunk]:
    """``tokenize_line``: the pieces' tokens in chunks of at most ``chunk_len``.

    A piece ``("BREAK", -1.0)`` ends the current chunk (even an empty one). A
    chunk is full at ``chunk_len`` tokens; when the next token is not a comma
    and the chunk's last comma is at most ``backtrack`` tokens from its end,
    the tokens after that comma move on to the next chunk. An empty prompt is
    one empty chunk; a final empty chunk is dropped unless it is the only one.
    Each chunk is encoded as bos + tokens + eos padded to ``chunk_len + 2``
    (padding weight 1.0). Textual-inversion embeddings, which A1111 matches by
    token sequence against its embedding folder, are not looked for here.
    """
    tokenized = tokenize([t for t, _ in pieces])
    out: list[Chunk] = []
    chunk = Chunk()
    last_comma = -1

    def next_chunk() -> None:
        nonlocal chunk, last_comma
        out.append(chunk)
        chunk = Chunk()
        last_comma = -1

    for tokens, (piece_text, weight) in zip(tokenized, pieces):
        if piece_text == BREAK[0] and weight == BREAK[1]:
            next_chunk()
            continue
        for token in tokens:
            if token == comma_token:
                last_comma = len(chunk.tokens)
            elif backtrack and len(chunk.tokens) == chunk_len and last_comma != -1 and len(chunk.tokens) - last_comma <= backtrack:
                cut = last_comma + 1
                moved = Chunk(chunk.tokens[cut:], chunk.weights[cut:])
                del chunk.tokens[cut:], chunk.weights[cut:]
                next_chunk()
                chunk = moved
            if len(chunk.tokens) == chunk_len:
                next_chunk()
            chunk.tokens.append(token)
            chunk.weights.append(weight)
    if chunk.tokens or not out:
        next_chunk()
    return out
