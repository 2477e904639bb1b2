"""Options shared by the commands that run a model."""
from __future__ import annotations


def add_regen_options(p) -> None:
    p.add_argument("--device", choices=["cpu", "cuda", "mps"], help="where to run (default: cuda if available, else cpu)")
    p.add_argument("--model-dir", action="append", metavar="KEY=PATH",
                   help="local directory of a model (registry key, or name:NAME / hash:HEX for unregistered models); repeatable")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: bit-exact with the reference; more threads change results)")
    p.add_argument("--progress", action="store_true", help="show the denoising progress bar")


def regenerator(args):
    from ..regen import Regenerator
    from ..regen.loading import parse_model_dirs
    return Regenerator(device=args.device, model_dirs=parse_model_dirs(args.model_dir), threads=args.threads, progress=args.progress)
