"""aigif-conformance: run the conformance suite against a decoder.

    aigif-conformance run --decoder "CMD" [--level parse,reject,noise,regen,diffc]
                          [--only GLOB] [--skip GLOB] [--timeout S] [--jobs N]
                          [--results out.json] [--device-class cpu|cuda|cuda:h100|...]
                          [--vectors DIR] [--measure] [--platform-label TEXT] [-v]
                          [--progress | --no-progress]
    aigif-conformance list [--level ...] [--only GLOB] [--skip GLOB] [--json]

``run`` prints one line per failing vector, the skipped and unsupported ones
apart, then ``N passed, N failed[, N skipped][, N unsupported]``; on a
terminal, a progress line on stderr while it runs. Exit status 0 when nothing failed, 1 when
something did, 2 for usage errors or damaged vectors. The same commands are
``aigif conformance run|list``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys

from .. import __version__
from ..conformance import runner, suite
from ..conformance.decoder import CommandDecoder
from ..conformance.progress import Progress
from ..errors import AigifError
from ..fsutil import atomic_write
from ..safetext import json_text, printable
from .common import DefaultsFormatter, check_output, guard_pipe


def _levels(text: str | None) -> list[str]:
    if not text:
        return list(suite.LEVELS)
    return [x.strip() for x in text.split(",") if x.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="conformance_command", required=True, metavar="{run,list}")
    r = sub.add_parser("run", help="run a decoder against the vectors", formatter_class=DefaultsFormatter)
    r.add_argument("--decoder", required=True, metavar="CMD",
                   help='the decoder command, e.g. "python -m aigif.refdecoder" (split like a shell would, never run by one)')
    _selection(r)
    r.add_argument("--timeout", type=float, metavar="S",
                   help="seconds per invocation for every level (default: " +
                   ", ".join(f"{k} {v:g}" for k, v in runner.DEFAULT_TIMEOUTS.items()) + ")")
    r.add_argument("--results", metavar="OUT.json", help="write the results as JSON")
    r.add_argument("--device-class", default="cpu", metavar="CLASS",
                   help="the device class the decoder renders on, for regen tolerances (cpu, cuda, mps, rocm, xpu); default cpu")
    r.add_argument("--measure", action="store_true",
                   help="regen: render every vector and record its PSNR in the results, whatever the tolerance (to measure tolerances)")
    r.add_argument("--platform-label", metavar="TEXT", default="",
                   help="describe the machine the decoder runs on (GPU, CPU, torch version); recorded in the results (default: this machine)")
    r.add_argument("--jobs", "-j", type=int, default=min(4, os.cpu_count() or 1), metavar="N",
                   help="decoder processes at a time for the parse, reject and noise levels (regen runs one at a time)")
    r.add_argument("--verbose", "-v", action="store_true", help="also print the vectors that pass")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress line on stderr while the vectors run (default: on when stderr is a terminal)")
    lst = sub.add_parser("list", help="list the vectors", formatter_class=DefaultsFormatter)
    _selection(lst)
    lst.add_argument("--json", action="store_true", help="the manifest entries as JSON")


def _selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--level", metavar="LEVELS", help="comma-separated: " + ",".join(suite.LEVELS) + " (default: all)")
    p.add_argument("--only", action="append", metavar="GLOB", help="vector IDs (class/name) or names to run; repeatable or comma-separated")
    p.add_argument("--skip", action="append", metavar="GLOB", help="vector IDs or names to leave out; repeatable or comma-separated")
    p.add_argument("--vectors", metavar="DIR", help="the vectors directory (default: $AIGIF_VECTORS or the checkout's vectors/)")


def _load(args):
    s = suite.load_suite(args.vectors)
    chosen = suite.select(s.vectors, _levels(args.level), args.only, args.skip)
    return s, chosen


def _list(args) -> int:
    s, chosen = _load(args)
    if args.json:
        ids = {v.id for v in chosen}
        print(json.dumps([e for e in s.manifest["vectors"] if e["id"] in ids], indent=2, ensure_ascii=False))
        return 0
    for v in chosen:
        e = v.expect
        want = e.get("error") or {"accept": "valid", "noise": "values", "image": "image"}.get(e.get("outcome"), e.get("outcome"))
        print(printable(f"{v.id:<58} {want:<30} {v.description}"))
    print(f"{len(chosen)} vectors")
    return 0


def _run(args) -> int:
    if args.results:  # a results path that cannot be written is a usage error before the run, not after it
        try:
            check_output(args.results, [], force=True)
        except AigifError as err:
            print(f"aigif-conformance: {err}", file=sys.stderr)
            return 2
    s, chosen = _load(args)
    problems = suite.verify(chosen)
    if problems:
        for p in problems:
            print(f"aigif-conformance: {p}", file=sys.stderr)
        return 2
    if not chosen:
        print("aigif-conformance: no vector matches the selection", file=sys.stderr)
        return 2
    opts = runner.Options(device_class=args.device_class, jobs=max(1, args.jobs), measure=args.measure,
                          platform=args.platform_label or f"{platform.system()} {platform.machine()} ({platform.processor() or 'cpu'})")
    if args.timeout is not None:
        if args.timeout <= 0:
            print("aigif-conformance: --timeout must be positive", file=sys.stderr)
            return 2
        opts.timeouts = {k: args.timeout for k in opts.timeouts}
    decoder = CommandDecoder(args.decoder)
    bar = Progress(len(chosen), sys.stderr, enabled=args.progress)
    try:
        report = runner.run(decoder, chosen, opts, suite=s, levels=_levels(args.level), progress=bar)
    finally:
        bar.close()
    for line in report.lines(verbose=args.verbose):  # reasons are escaped there
        print(line)
    if args.results:
        try:
            atomic_write(args.results, (json_text(report.to_json(), indent=2) + "\n").encode("utf-8"))
        except AigifError as err:
            print(f"aigif-conformance: {err}", file=sys.stderr)
            return 2
    return 1 if report.failed else 0


def run(args) -> int:
    """Entry point shared with ``aigif conformance``."""
    try:
        if args.conformance_command == "list":
            return _list(args)
        return _run(args)
    except (suite.SuiteError, ValueError) as exc:
        print(f"aigif-conformance: {exc}", file=sys.stderr)
        return 2


@guard_pipe
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="aigif-conformance", description="Run the AIGIF conformance suite against a decoder (conformance/CONTRACT.md).")
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_arguments(ap)
    args = ap.parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("aigif-conformance: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
