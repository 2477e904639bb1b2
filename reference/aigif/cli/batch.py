"""aigif batch validate|convert|decode|verify INPUT... --results RESULTS: the
commands of the same names over millions of files, on Ray (the ``scale``
extra), resumable; and ``aigif batch report RESULTS``.

Exit status: 0 when every file is ok, 1 when any is invalid, mismatched or
failed (each has a row with its code), 2 for usage errors."""
from __future__ import annotations

import sys

from ..errors import AigifError
from ..safetext import printable

BUDGETS = {"validate": 20.0, "convert": 20.0, "decode": 600.0, "verify": 600.0}  # seconds a file may take


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="batch_op", required=True, metavar="OPERATION")
    helps = {"validate": "validate .aigif files", "convert": "convert AI images with embedded metadata to .aigif",
             "decode": "regenerate the PNG of .aigif files", "verify": "regenerate and compare with the digest / pixel payload"}
    for op, help_ in helps.items():
        q = sub.add_parser(op, help=help_, description=f"{help_}, on Ray: resumable, one row per file in RESULTS")
        q.add_argument("inputs", nargs="*", metavar="INPUT", help="files or directory trees (searched recursively)")
        q.add_argument("--manifest", action="append", default=[], metavar="FILE",
                       help="a file of paths, one a line (relative to the manifest's directory); repeatable")
        q.add_argument("-o", "--output", metavar="OUTDIR", required=op in ("convert", "decode"),
                       help="output directory: each input's relative path mirrored under it")
        q.add_argument("--results", required=True, metavar="RESULTS", help="writes RESULTS.jsonl (log) and RESULTS.parquet (table)")
        q.add_argument("--workers", type=int, metavar="N", help="actors (default: one per CPU, or per GPU for decode/verify)")
        q.add_argument("--address", metavar="ADDR", help="join this Ray cluster (e.g. auto, ray://head:10001) instead of a local Ray")
        q.add_argument("--budget", type=float, default=BUDGETS[op], metavar="S",
                       help=f"seconds one file may take before it is recorded as {'E_BATCH_TIMEOUT'} (default {BUDGETS[op]:g})")
        q.add_argument("--chunk", type=int, default=64, metavar="N", help="files per call to an actor (validate, convert)")
        q.add_argument("--retry-failed", action="store_true", help="redo files whose earlier row is failed (every code)")
        q.add_argument("--rehash", action="store_true", help="to skip a file, also compare SHA-256 of input and output, not only size and mtime")
        q.add_argument("--progress", action="store_true", default=None, help="show progress on stderr even when it is not a terminal")
        q.add_argument("--follow-symlinks", action="store_true", help="in directories, also follow symlinks that lead out of them")
        q.add_argument("--hard-grace", type=float, default=30.0, metavar="S",
                       help="seconds past the budget before a worker that does not answer is killed")
        if op in ("convert", "decode"):
            q.add_argument("--force", action="store_true",
                           help="replace files in OUTDIR that these results do not record this batch writing "
                                "(default: leave each as it is, an E_BATCH_EXISTS row)")
        if op == "convert":
            q.add_argument("--keep-pixels", action="store_true", help="embed the original pixels as a lossless PNG payload in complete recipes too")
            q.add_argument("--no-pixels", action="store_true", help="do not embed the pixels of partial records")
        if op == "decode":
            q.add_argument("--use-payload", action="store_true", help="use the pixel payload instead of regenerating")
        if op in ("decode", "verify"):
            q.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when Ray sees GPUs, else cpu")
            q.add_argument("--model-dir", action="append", metavar="KEY=PATH", help="local directory of a model; repeatable")
            q.add_argument("--threads", type=int, default=1, help="CPU threads per actor (1: bit-exact with the reference)")
    r = sub.add_parser("report", help="print the per-status table of a batch's results")
    r.add_argument("results", metavar="RESULTS", help="RESULTS, RESULTS.parquet or RESULTS.jsonl")


def run(args) -> int:
    from ..batch import results
    if args.batch_op == "report":
        print(results.format_summary(results.iter_rows(args.results, results.SUMMARY_COLUMNS)))
        return 0
    try:
        import ray  # noqa: F401  # the clear message below, not an ImportError deep in the engine

        from ..batch.driver import run_batch
    except ImportError as exc:
        raise AigifError("E_USAGE", f"aigif batch needs Ray: pip install 'aigif[scale]' ({exc})") from None
    if args.workers is not None and args.workers < 1:
        raise AigifError("E_USAGE", "--workers must be at least 1")
    if args.budget <= 0 or args.chunk < 1:
        raise AigifError("E_USAGE", "--budget must be positive and --chunk at least 1")
    if getattr(args, "keep_pixels", False) and getattr(args, "no_pixels", False):
        raise AigifError("E_USAGE", "--keep-pixels and --no-pixels contradict each other")
    keep = False if getattr(args, "no_pixels", False) else (True if getattr(args, "keep_pixels", False) else None)
    opts = {"budget": args.budget, "keep_pixels": keep,
            "use_payload": getattr(args, "use_payload", False), "device": getattr(args, "device", None),
            "threads": getattr(args, "threads", 1)}
    if getattr(args, "model_dir", None):
        from ..regen.loading import parse_model_dirs
        opts["model_dirs"] = parse_model_dirs(args.model_dir)
    summary = run_batch(args.batch_op, args.inputs, outdir=args.output, results_path=args.results, opts=opts,
                        manifests=args.manifest, workers=args.workers, address=args.address, chunk=args.chunk,
                        retry_failed=args.retry_failed, rehash=args.rehash, follow_symlinks=args.follow_symlinks,
                        force=getattr(args, "force", False), progress=args.progress, hard_grace_s=args.hard_grace)
    bad = sum(v for k, v in summary["status"].items() if k in ("invalid", "mismatch", "failed"))
    if bad:
        print(printable(f"aigif batch {args.batch_op}: {bad:,} files not ok; see `aigif batch report {args.results}`"), file=sys.stderr)
    return 1 if bad else 0
