"""``aigif info --bits``: every field with its offset and raw bits, for
implementers comparing their parser with this one bit by bit."""
from __future__ import annotations

import io

from bitstring import Bits

from . import codec, wire
from .errors import AigifError
from .registry import Registry, load
from .syntax import core_struct


def bit_table(data: bytes, reg: Registry | None = None) -> list[dict]:
    """Rows of (offset in bits from the start of the file, length, field, raw bits, value).
    The file must be valid (call ``codec.read`` first)."""
    reg = reg or load()
    f = codec.read(data, reg)
    rows = []

    def row(name, start_bit, nbits, value):
        raw = bits[start_bit:start_bit + min(nbits, 96)]
        rows.append({"bit": start_bit, "bits": nbits, "field": name, "raw": raw.bin if nbits <= 96 else raw.bin + "…", "value": value})

    bits = Bits(data)

    row("magic", 0, 24, "AIG")
    row("version", 24, 8, data[3])
    body_len, start = wire.read_uvarint(data, 4, len(data))
    row("body_length", 32, 8 * (start - 4), body_len)
    body = data[start:len(data) - 4]
    for window in (body[:codec.CORE_WINDOW], body):  # as codec.parse_core: the core only, not the payloads
        trace: list = []
        stream = io.BytesIO(wire.bytes_to_bits(window))
        try:
            core_struct(reg, trace=True).parse_stream(stream, trace=trace)
            break
        except AigifError:
            if len(window) == len(body):
                raise
    for path, b0, b1, value in trace:
        row(path, 8 * start + b0, b1 - b0, value)
    end = stream.tell()
    pad = -end % 8
    if pad:
        row("padding", 8 * start + end, pad, 0)
    pos = start + (end + pad) // 8
    rest = len(data) - 4 - pos
    text_len = len(codec.text.encode(f.text_coder, codec._strings(reg, f)))
    if rest - text_len:
        row("sections", 8 * pos, 8 * (rest - text_len), "digest/extensions/payloads")
    row(f"text_block ({f.text_coder})", 8 * (len(data) - 4 - text_len), 8 * text_len, [f.prompt, f.negative_prompt])
    row("crc32", 8 * (len(data) - 4), 32, data[-4:][::-1].hex())
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'bit':>6} {'len':>4}  {'field':<28} {'value':<32} raw"]
    for r in rows:
        v = repr(r["value"]) if not isinstance(r["value"], str) else r["value"]
        lines.append(f"{r['bit']:>6} {r['bits']:>4}  {r['field']:<28} {v[:32]:<32} {r['raw']}")
    return "\n".join(lines)
