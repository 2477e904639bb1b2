"""aigif demo: the whole loop on the bundled conformance model, offline.

Encodes an image with ``tiny-sd1`` (shipped under vectors/models), regenerates
it from the .aigif in a separate process, and checks the two images are
bit-identical; prints the .aigif size next to the PNG size.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from ..errors import AigifError


def add_arguments(p):
    p.add_argument("--out", default="aigif-demo", help="output directory (default ./aigif-demo)")
    p.add_argument("--model", default="tiny-sd1", help="registry model key")
    p.add_argument("--prompt", default="a red circle on a blue background", help="the prompt")
    p.add_argument("--negative-prompt", default="green", help="the negative prompt")
    p.add_argument("--seed", type=int, default=829557441, help="the noise seed")


def run(args) -> int:
    import numpy as np
    from PIL import Image
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    aig, png, regen_png = out / "demo.aigif", out / "demo.png", out / "demo-regenerated.png"
    cli = [sys.executable, "-m", "aigif.cli.main"]
    enc = cli + ["encode", "--model", args.model, "--prompt", args.prompt, "--negative-prompt", args.negative_prompt,
                 "--seed", str(args.seed), "-o", str(aig), "--png", str(png), "--force"]
    print("$ " + shlex.join(["aigif"] + enc[3:]), flush=True)  # a line the user can paste
    if subprocess.run(enc).returncode:
        raise AigifError("E_REGEN_UNSUPPORTED", "encoding failed")
    dec = cli + ["decode", str(aig), "-o", str(regen_png), "--force"]
    print("$ " + shlex.join(["aigif"] + dec[3:]) + "   # a separate process", flush=True)
    if subprocess.run(dec).returncode:
        raise AigifError("E_REGEN_UNSUPPORTED", "decoding failed")
    a = np.asarray(Image.open(png).convert("RGB"))
    b = np.asarray(Image.open(regen_png).convert("RGB"))
    same = a.shape == b.shape and bool((a == b).all())
    n_aig, n_png = aig.stat().st_size, png.stat().st_size
    print(f"\n.aigif: {n_aig} bytes   PNG: {n_png} bytes   ({n_png / n_aig:.0f}× smaller)")
    print(f"regenerated image is {'BIT-IDENTICAL to' if same else 'DIFFERENT from'} the original ({a.shape[1]}×{a.shape[0]})")
    return 0 if same else 1
