"""Prompt-coded text blocks (SPEC.md Appendix E) from symbol sequences, so
the vectors can hold streams no encoder writes: a string whose first piece
has no implied space, a surrogate code point, a code value outside a table.

The symbols of each string (ids, with the payloads of E.4: a spelled word's
letters after ``ESC_WORD``, a code point after ``ESC_OTHER``/``ESC_OTHER_SP``)
become (cum, freq, total) coding steps by the reference model's context
chain (E.5), and bytes by this module's own range coder (E.6)."""
from __future__ import annotations

import copy

from aigif.text import prompt

from .common import BuildError

TOP, BOT = 1 << 32, 1 << 24


def model():
    return prompt._load()


def steps(seqs: list[list]) -> list[tuple[int, int, int]]:
    """The coding steps of E.5 for one symbol sequence per string (EOS is added)."""
    m = copy.copy(model())
    m.symbols = lambda s: list(seqs[int(s)])  # code the given symbols, not the tokenisation of a string
    trace: list = []
    m.encode([str(i) for i in range(len(seqs))], trace=trace)
    return trace


def range_code(coding_steps, gap_total: int | None = None) -> bytes:
    """E.6's encoder over ``coding_steps``, then its termination; or, with
    ``gap_total``, bytes that make the decoder's next ``get(gap_total)`` find
    ``v = gap_total`` (a code value outside the table: E_TEXT_CORRUPT)."""
    out = bytearray()
    low, rng = 0, 0xFFFFFFFF

    def carry():
        i = len(out) - 1
        while out[i] == 0xFF:
            out[i] = 0
            i -= 1
        out[i] += 1
    for cum, freq, total in coding_steps:
        r = rng // total
        low, rng = low + r * cum, r * freq
        if low >= TOP:
            low -= TOP
            carry()
        while rng < BOT:
            out.append(low >> 24)
            low, rng = (low << 8) % TOP, rng << 8
    if gap_total is not None:
        r = rng // gap_total
        if rng - r * gap_total == 0:
            raise BuildError(f"a get({gap_total}) here has no code value outside its table")
        v = low + r * gap_total  # code = r * total: v = total
        if v >= TOP:
            v -= TOP
            carry()
        out += v.to_bytes(4, "big")
    elif low + rng > TOP:
        carry()
    elif low:
        out.append((low + 0xFFFFFF) >> 24)
    while out and out[-1] == 0:  # missing bytes read as 0x00, so the value is the same
        out.pop()
    return bytes(out)


def stream(seqs: list[list]) -> bytes:
    """The text block of these symbol sequences, terminated as E.6 says."""
    return range_code(steps(seqs))


def corrupt_letter_after(seqs: list[list], word_len: int) -> bytes:
    """``seqs`` with the last string ending in a spelled word of ``word_len``
    letters ``x`` whose next letter-table decode (where END would be) finds a
    code value outside the table."""
    m = model()
    head = [list(s) for s in seqs]
    done = steps(head[:-1] + [head[-1] + [m.esc_word, "x" * word_len]])
    more = steps(head[:-1] + [head[-1] + [m.esc_word, "x" * (word_len + 1)]])
    k = next(i for i, (a, b) in enumerate(zip(done, more)) if a != b)  # END of the shorter word
    return range_code(done[:k], gap_total=m.letters[24].total)  # letters[24]: the table after an "x"


def escaped_first(seqs: list[list]) -> bytes:
    """``seqs`` with string 0's first symbol, which its context table
    ``ctx1[BOS0]`` holds, coded instead by ``BACKOFF`` there and then in the
    order-0 table (E.7 check 2: a symbol after BACKOFF from a table that has it)."""
    m = model()
    first = seqs[0][0]
    ctx = m.ctx1[m.bos]
    if first not in ctx.index or first not in m.order0.index:
        raise BuildError(f"symbol {first} is not in both ctx1[BOS0] and order0")

    def entry(t, s):
        j = t.index[s]
        return t.cum[j], t.cum[j + 1] - t.cum[j], t.total
    normal = steps(seqs)
    if normal[0] != entry(ctx, first):
        raise BuildError("string 0's first symbol is not coded in ctx1[BOS0] by one step")
    return range_code([entry(ctx, m.backoff), entry(m.order0, first)] + normal[1:])
