"""Bytes per file: AIGIF against the paper's layout, AUTOMATIC1111's text and pixels.

    python benchmarks/bench_size.py [--limit N] [--markdown]

Whole files count: AIGIF's magic, version, length, checksum, platform and
all. The paper-layout baseline is computed in the same run.
"""
from __future__ import annotations

import argparse
import statistics as st
import sys

from aigif import codec
from aigif.errors import AigifError
from aigif.file import Extension
from aigif.regen.encode import smallest
from aigif.registry import load
from typical import a1111_text, aigif_file, generations, paper_layout

SOFTWARE = Extension.of("software", {"torch": "2.13.0+cu121", "diffusers": "0.42.1", "transformers": "5.23.0",
                                     "cpu": "AVX512", "writer": "aigif-reference 1.0"})


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
        r["aigif"] = len(codec.write(f, reg))
        f.extensions, f.digest = [SOFTWARE], bytes(8)
        r["aigif+sw+digest"] = len(codec.write(f, reg))
        rows.append(r)
    return rows, coders


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="first N prompts of each corpus")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    out = []
    ok = True
    for corpus, label in (("parti", "PartiPrompts (1,632 prompts, no negative prompt)"), ("sd-long", "long SD-style prompts + negative prompts")):
        rows, coders = sizes(corpus, args.limit)
        cols = ["paper", "a1111"] + coders + ["aigif", "aigif+sw+digest"]
        base = st.mean(r["paper"] for r in rows)
        out.append(f"\n### {label}: {len(rows)} files\n")
        out.append("| layout | mean bytes | median bytes | mean / paper layout |")
        out.append("|---|---:|---:|---:|")
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
        ratio = st.mean(r["aigif"] for r in rows) / base
        ok &= ratio <= 0.5
        out.append(f"\nratio AIGIF / paper layout = **{ratio:.3f}** (target ≤ 0.5: {'met' if ratio <= 0.5 else 'NOT met'})")
    out.append("\nPixels of one image (paper, Table II, 1024×1024 SD images): PNG 1,907,472 bytes, JPEG XL 1,291,602 bytes; "
               "see bench_pixels.py for the regenerated conformance images.")
    print("\n".join(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
