"""Pick the coverage part of the regression corpus (tests/fuzz_corpus/).

    python fuzz/select_corpus.py parser   fuzz/corpus/parser3 fuzz/corpus/parser_seed     --max-files 110 --max-bytes 400000
    python fuzz/select_corpus.py importer fuzz/corpus/importer fuzz/corpus/importer_seed --max-files 80 --max-bytes 1300000
    python fuzz/select_corpus.py importer_struct fuzz/corpus/importer_struct fuzz/corpus/importer_struct_seed --max-files 40 --max-bytes 60000
    AIGIF_FUZZ_TOLERATE=BUG-6 python fuzz/select_corpus.py writer fuzz/corpus/writer fuzz/corpus/writer_seed --max-files 40 --max-bytes 30000

1. libFuzzer's ``-merge=1`` reduces the working corpus to a set that keeps
   every feature (coverage edge, value profile) the campaign reached;
2. of those, ``--max-files`` are kept, spread evenly over the sizes (small
   odd inputs and some large valid files), within ``--max-bytes`` (CI
   replays all of them);
3. they are written to ``tests/fuzz_corpus/<target>/cov-<sha1[:12]>``,
   replacing the previous ``cov-*`` files. Crashers and slow inputs
   (``crash-*``, ``slow-*``) are added by hand and never removed here.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "tests" / "fuzz_corpus"
TARGETS = {"parser": "fuzz_parser.py", "importer": "fuzz_importer.py", "textcoder": "fuzz_textcoder.py",
           "importer_struct": "fuzz_importer_struct.py", "writer": "fuzz_writer.py"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("target", choices=sorted(TARGETS))
    ap.add_argument("corpora", nargs="+", type=Path)
    ap.add_argument("--max-files", type=int, default=100)
    ap.add_argument("--max-bytes", type=int, default=500_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        merged = Path(tmp) / "merged"
        merged.mkdir()
        cmd = [sys.executable, str(HERE / TARGETS[args.target]), "-merge=1", "-timeout=60", "-rss_limit_mb=2048",
               str(merged), *map(str, args.corpora)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            print(r.stderr[-3000:], file=sys.stderr)
            return r.returncode
        files = sorted(merged.iterdir(), key=lambda p: (p.stat().st_size, p.name))
        n_merged = len(files)
        dest = OUT / args.target
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.glob("cov-*"):
            old.unlink()
        if len(files) > args.max_files:  # spread over the sizes: small odd inputs and some large valid ones
            step = len(files) / args.max_files
            files = [files[int(i * step)] for i in range(args.max_files)]
        kept = total = 0
        for p in files:
            size = p.stat().st_size
            if total + size > args.max_bytes:
                continue
            data = p.read_bytes()
            shutil.copyfile(p, dest / f"cov-{hashlib.sha1(data).hexdigest()[:12]}")
            kept += 1
            total += size
        print(f"{args.target}: merged {n_merged} files; kept {kept} ({total:,} bytes) in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
