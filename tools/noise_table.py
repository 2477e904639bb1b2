#!/usr/bin/env python3
"""Print the first values of each CPU noise source as markdown tables.

For each source and seed the stream's first draw is a latent of ``--shape``
(default (1, 4, 64, 64), SD1 at 512x512); its first ``--count`` values (row
major) are printed as float32 bit patterns (hex) and as decimals (``%.9g``,
which round-trips float32).  The latent shape matters for ``torch-cpu`` only
(torch's CPU kernel depends on the tensor size), not for ``a1111-nv`` or
``portable``.

    python -m tools.noise_table                       # all CPU sources
    python -m tools.noise_table --source portable --count 4
"""

from __future__ import annotations

import argparse
import struct

from aigif.noise import CPU_KEYS, KEYS, NoiseUnavailable, get_source

SEEDS = (0, 1, 42, 829557441, 2**32 + 5, 2**64 - 1)


def seed_label(seed: int) -> str:
    if seed == 2**64 - 1:
        return "2**64-1"
    if seed >= 2**32:
        return f"2**32+{seed - 2**32}"
    return str(seed)


def first_values(key: str, seed: int, shape: tuple[int, ...], count: int) -> list[float]:
    values = get_source(key).stream(seed).normal(shape)
    flat = values.reshape(-1)[:count]
    if hasattr(flat, "detach"):
        flat = flat.detach().cpu().numpy()
    return [float(v) for v in flat]


def bits(v: float) -> str:
    return f"{struct.unpack('<I', struct.pack('<f', v))[0]:08x}"


def table(key: str, shape: tuple[int, ...], count: int, seeds=SEEDS) -> str:
    lines = [f"#### `{key}`: first {count} values of a {tuple(shape)} latent", "",
             "| seed | float32 bits (hex) | decimal |", "| --- | --- | --- |"]
    for seed in seeds:
        vals = first_values(key, seed, shape, count)
        lines.append(f"| {seed_label(seed)} | {' '.join(bits(v) for v in vals)} | "
                     f"{' '.join(f'{v:.9g}' for v in vals)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", action="append", choices=KEYS,
                    help="source key (repeatable); default: every CPU source")
    ap.add_argument("--shape", default="1,4,64,64", help="latent shape, comma separated")
    ap.add_argument("--count", type=int, default=8)
    args = ap.parse_args(argv)
    shape = tuple(int(d) for d in args.shape.split(","))
    out = []
    for key in args.source or CPU_KEYS:
        try:
            out.append(table(key, shape, args.count))
        except NoiseUnavailable as exc:
            out.append(f"#### `{key}`\n\nunavailable here: {exc}\n")
    print("\n".join(out), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
