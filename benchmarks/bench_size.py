"""Bytes per file: AIGIF against the paper's layout, AUTOMATIC1111's text and pixels.

    python benchmarks/bench_size.py [--limit N] [--corpus PROMPTS.tsv ...]

Whole files count: AIGIF's magic, version, length, checksum, platform and
all. The paper-layout baseline is computed in the same run. ``--corpus``
adds a TSV corpus (a ``prompt`` column; ``negative``, ``seed``, ``width``,
``height``, ``steps``, ``guidance`` where it has them), e.g. a held-out set
of real prompts. Each corpus also gets a breakdown of where the bytes of a
file go (container, core, sections, text block), from ``aigif.bits``.
"""
from __future__ import annotations

import argparse
import statistics as st
import sys

from aigif import bits, codec
from aigif.errors import AigifError
from aigif.file import Extension
from aigif.regen.encode import smallest
from aigif.registry import load
from typical import a1111_text, aigif_file, generations, paper_layout

#: the issue-20 target: whole files at most this fraction of the paper's layout with zlib
TARGET = 0.40
#: bit_table rows -> part of the file (every other row up to the padding is the core)
CONTAINER_ROWS = {"magic", "version", "body_length", "crc32"}
PARTS = ("container", "core", "sections", "text")

#: the software extension as `aigif encode` writes it by default (--software compact: no writer; "cpu" only on CPU)
SOFTWARE = Extension.of("software", {"torch": "2.13.0+cu121", "diffusers": "0.42.1", "transformers": "5.25.0",
                                     "cpu": "", "writer": ""})


def parts(b: bytes, reg) -> dict[str, float]:
    """Bytes of each part of a file (bits / 8: the core and the sections share bytes at their edge)."""
    out = dict.fromkeys(PARTS, 0.0)
    for row in bits.bit_table(b, reg):
        name = row["field"]
        part = ("container" if name in CONTAINER_ROWS else "sections" if name == "sections"
                else "text" if name.startswith("text_block") else "core")
        out[part] += row["bits"] / 8
    return out


def sizes(corpus: str, limit: int | None):
    reg = load()
    coders = [c["key"] for c in reg.table("text_coders").entries]
    rows = []
    for i, (p, n, s) in enumerate(generations(corpus)):
        if limit and i >= limit:
            break
        r = {"paper": len(paper_layout(p, n, s)), "a1111": len(a1111_text(p, n, s).encode())}
        f = aigif_file(p, n, s)
        for c in coders:
            f.text_coder = c
            try:
                r[c] = len(codec.write(f, reg))
            except AigifError:
                r[c] = None  # coder not available in this build
        smallest(f, reg)
        b = codec.write(f, reg)
        r["aigif"] = len(b)
        r["parts"] = parts(b, reg)
        f.extensions, f.digest = [SOFTWARE], bytes(8)
        b = codec.write(f, reg)
        r["aigif+sw+digest"] = len(b)
        r["parts+sw+digest"] = parts(b, reg)
        rows.append(r)
    return rows, coders


def table(rows: list[dict], coders: list[str]) -> list[str]:
    cols = ["paper", "a1111"] + coders + ["aigif", "aigif+sw+digest"]
    base = st.mean(r["paper"] for r in rows)
    out = ["| layout | mean bytes | median bytes | mean / paper layout |", "|---|---:|---:|---:|"]
    names = {"paper": "paper Table I layout + zlib (baseline)", "a1111": "AUTOMATIC1111 parameters text",
             "aigif": "**AIGIF, smallest coder (the writer's default)**",
             "aigif+sw+digest": "AIGIF + software versions + 8-byte digest (as `aigif encode` writes)"}
    for c in cols:
        vals = [r[c] for r in rows if r.get(c) is not None]
        if not vals:
            out.append(f"| AIGIF, text coder `{c}` | n/a | n/a | n/a |")
            continue
        m = st.mean(vals)
        out.append(f"| {names.get(c, f'AIGIF, text coder `{c}`')} | {m:.1f} | {st.median(vals):g} | {m / base:.3f} |")
    out += ["", "Where the bytes go (mean bytes per file):", "",
            "| file | " + " | ".join(PARTS) + " | whole |", "|---|" + "---:|" * (len(PARTS) + 1)]
    for key, label in (("parts", "smallest coder"), ("parts+sw+digest", "+ software + digest")):
        means = [st.mean(r[key][p] for r in rows) for p in PARTS]
        out.append(f"| {label} | " + " | ".join(f"{m:.1f}" for m in means) + f" | {sum(means):.1f} |")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="first N prompts of each corpus")
    ap.add_argument("--corpus", action="append", default=[], metavar="TSV", help="also measure this TSV corpus (repeatable)")
    args = ap.parse_args()
    out = []
    ok = True
    corpora = [("parti", "PartiPrompts (1,632 prompts, no negative prompt)"), ("sd-long", "long SD-style prompts + negative prompts")]
    corpora += [(path, f"`{path}`") for path in args.corpus]
    for corpus, label in corpora:
        rows, coders = sizes(corpus, args.limit)
        out.append(f"\n### {label}: {len(rows)} files\n")
        out += table(rows, coders)
        ratio = st.mean(r["aigif"] for r in rows) / st.mean(r["paper"] for r in rows)
        ok &= ratio <= TARGET
        out.append(f"\nratio AIGIF / paper layout = **{ratio:.3f}** (target ≤ {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})")
    out.append("\nPixels of one image (paper, Table II, 1024×1024 SD images): PNG 1,907,472 bytes, JPEG XL 1,291,602 bytes; "
               "see bench_pixels.py for the regenerated conformance images.")
    print("\n".join(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
