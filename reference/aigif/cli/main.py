"""aigif: info, pack, and (with the regen extra) encode, decode, verify,
convert, export, conformance."""
from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import AigifError
from ..safetext import printable
from .common import DefaultsFormatter, exit_code, guard_pipe

# subcommand -> module under aigif.cli that defines add_arguments(parser) and run(args) -> int
COMMANDS = {
    "info": ("info", "print every field of a file as JSON (or --bits)"),
    "pack": ("pack", "build a file from the JSON of `aigif info` (its exact inverse)"),
    "encode": ("encode", "generate an image with a model and write the .aigif (and PNG)"),
    "decode": ("decode", "regenerate the image of .aigif files"),
    "verify": ("verify", "regenerate and compare with the digest or pixel payload"),
    "convert": ("convert", "convert AI images with embedded metadata (A1111, ComfyUI, …) to .aigif"),
    "export": ("export", "print a file's settings in another tool's format (a1111)"),
    "conformance": ("conformance_cmd", "run the conformance suite against a decoder"),
    "demo": ("demo", "encode with the bundled conformance model, regenerate, compare (offline)"),
    "prompt": ("prompt_cmd", "show how a prompt syntax reads a prompt: schedule, weighted pieces, tokens, embeddings"),
    "batch": ("batch", "validate, convert, decode or verify millions of files on Ray (resumable; the scale extra)"),
    "list": ("list_cmd", "list the registry's models, schedulers, devices, dtypes, noise sources, text coders, extensions"),
    "encode-pixels": ("pixels_cmd", "give a file a pixel payload: diffc (generative, the file's own model), png, …"),
}


@guard_pipe
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="aigif", description="AIGIF: files that store how an AI image was generated.",
                                 formatter_class=DefaultsFormatter)
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    modules = {}
    for name, (mod, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_, formatter_class=DefaultsFormatter)
        if name == chosen:  # import only the chosen command's module (torch stays unloaded for info/pack)
            try:
                modules[name] = importlib.import_module(f"{__package__}.{mod}")
            except ImportError as exc:
                print(f"aigif {name}: unavailable ({exc}); install the extra that provides it", file=sys.stderr)
                return 2
            modules[name].add_arguments(p)
    args = ap.parse_args(argv)
    try:
        return modules[args.command].run(args)
    except AigifError as err:
        print(f"aigif {args.command}: {printable(err)}", file=sys.stderr)
        return exit_code(err)
    except (RecursionError, MemoryError) as exc:  # the last net: a typed line, never a traceback (SPEC.md §16)
        what = "input nests too deeply" if isinstance(exc, RecursionError) else "out of memory"
        print(f"aigif {args.command}: E_LIMIT: {what}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"aigif {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
