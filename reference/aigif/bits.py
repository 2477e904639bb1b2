"""``aigif info --bits``: every field with its offset and raw bits, for
implementers comparing their parser with this one bit by bit."""
from __future__ import annotations

import dataclasses

from . import codec, container, core, sections, wire
from .registry import Registry, load


def bit_table(data: bytes, reg: Registry | None = None) -> list[dict]:
    """Rows of (offset in bits from the start of the file, length, field, raw bits, value).
    The file must be valid (``codec.read`` is called first)."""
    reg = reg or load()
    f = codec.read(data, reg)
    rows = []

    def row(name, start_bit, nbits, value):
        shown = min(nbits, 96)
        raw = format(wire.BitReader(data, start_bit // 8, nbits=start_bit % 8 + shown).uint_at(start_bit % 8, shown), f"0{shown}b") if shown else ""
        rows.append({"bit": start_bit, "bits": nbits, "field": name, "raw": raw if nbits <= 96 else raw + "…", "value": value})

    start, end = container.read_container(data)
    row("magic", 0, 24, "AIG")
    row("version", 24, 8, data[3])
    row("body_length", 32, 8 * (start - 4), end - start)
    trace: list = []
    c, pos = core.read_core(reg, data, start, end, trace=trace)
    for path, b0, b1, value in trace:
        row(path, 8 * start + b0, b1 - b0, value)
    core_end = 8 * start + (trace[-1][2] if trace else 0)
    if 8 * pos > core_end:
        row("padding", core_end, 8 * pos - core_end, 0)
    # where the text block starts: after the sections (read again into a scratch copy; re-encoding
    # the strings instead cost a second canonical deflate of up to 64 KiB)
    text_at = sections.read_sections(reg, c, dataclasses.replace(f, extensions=[]), data, pos, end)
    text_len = end - text_at
    if text_at > pos:
        row("sections", 8 * pos, 8 * (text_at - pos), "digest/extensions/payloads")
    row(f"text_block ({f.text_coder})", 8 * text_at, 8 * text_len, [f.prompt, f.negative_prompt])
    row("crc32", 8 * end, 32, data[-4:][::-1].hex())
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'bit':>6} {'len':>4}  {'field':<28} {'value':<32} raw"]
    for r in rows:
        v = repr(r["value"]) if not isinstance(r["value"], str) else r["value"]
        lines.append(f"{r['bit']:>6} {r['bits']:>4}  {r['field']:<28} {v[:32]:<32} {r['raw']}")
    return "\n".join(lines)
