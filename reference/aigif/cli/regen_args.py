"""Options shared by the commands that run a model."""
from __future__ import annotations

from ..errors import AigifError


def add_regen_options(p) -> None:
    p.add_argument("--device", choices=["cpu", "cuda", "mps"], help="where to run (default: cuda if available, else cpu)")
    p.add_argument("--model-dir", action="append", metavar="KEY=PATH",
                   help="local directory of a model (registry key, or name:NAME / hash:HEX for unregistered models); repeatable")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: bit-exact with the reference; more threads change results)")
    p.add_argument("--progress", action="store_true", help="show the denoising progress bar")
    p.add_argument("--max-work", type=int, metavar="PIXEL_STEPS",
                   help="refuse a file whose width × height × steps is larger (E_BUDGET; default: 1024² × 128, SPEC.md §16)")
    p.add_argument("--time-limit", type=float, metavar="S", help="stop a file's denoising after S seconds (E_BUDGET)")
    p.add_argument("--unverified-models", action="store_true",
                   help="use a mapped directory for an unregistered model although its weights hash cannot be checked (SPEC.md §5.3)")
    p.add_argument("--resource-dir", action="append", metavar="DIR|name:NAME=FILE|hash:HEX=FILE",
                   help="where the LoRAs, embeddings and VAE a file names are found (SPEC.md §12.11): a folder searched for "
                        "NAME.safetensors, or one file for a name or hash; repeatable; $AIGIF_RESOURCE_DIR adds folders")
    p.add_argument("--max-pixels", type=int, metavar="N",
                   help="refuse to decode a pixel payload of more pixels (E_BUDGET; default: 8192², SPEC.md §16)")


def check_device(device: str | None) -> None:
    """A one-line typed error for a device this torch cannot use (before any model loads)."""
    if device not in ("cuda", "mps"):
        return
    import torch
    if device == "cuda" and not torch.cuda.is_available():
        why = "this torch was built without CUDA" if torch.version.cuda is None else "no CUDA device is visible"
        raise AigifError("E_USAGE", f"--device cuda: {why}; use --device cpu")
    mps = getattr(torch.backends, "mps", None)
    if device == "mps" and not (mps is not None and mps.is_available()):
        raise AigifError("E_USAGE", "--device mps: MPS is not available on this machine; use --device cpu")


def regenerator(args):
    check_device(args.device)
    from ..regen import Regenerator
    from ..regen.loading import parse_model_dirs
    from ..regen.resources import parse_resource_dirs
    return Regenerator(device=args.device, model_dirs=parse_model_dirs(args.model_dir), threads=args.threads, progress=args.progress,
                       time_limit=args.time_limit, unverified=args.unverified_models,
                       resource_dirs=parse_resource_dirs(getattr(args, "resource_dir", None)),
                       **{k: v for k in ("max_work", "max_pixels") if (v := getattr(args, k)) is not None})
