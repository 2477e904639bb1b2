"""aigif convert PATH... -o OUTDIR: AI images with embedded metadata -> .aigif.

Inputs are only read, never modified. Each output is written atomically, so
an interrupted run leaves no partial file; a re-run skips inputs whose .aigif
already exists and is valid.
"""
from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

from .. import codec
from ..errors import AigifError
from ..fsutil import atomic_write
from ..registry import load
from .common import same_file

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
TIME_BUDGET_S = 20  # per file: a hostile image must not stall a batch


def add_arguments(p):
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or directories (searched recursively)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output directory (created if missing)")
    p.add_argument("--keep-pixels", action="store_true", help="embed the original pixels as a lossless PNG payload")
    p.add_argument("--json", action="store_true", help="one JSON report per file on stdout")
    p.add_argument("--force", action="store_true", help="convert again even if the .aigif exists (and replace an output that is not a valid .aigif)")


def _out_name(rel: Path, stems: dict) -> Path:
    """``name.aigif``, or ``name.ext.aigif`` when another input beside it has
    the same stem (a.png and a.jpg): stable across re-runs over the same inputs."""
    clash = stems.get((rel.parent, rel.stem.lower()), 0) > 1
    return rel.with_name(rel.name + ".aigif") if clash else rel.with_suffix(".aigif")


def inputs(paths: list[str]):
    """(input file, output path relative to OUTDIR) pairs, in a stable order."""
    pairs = []
    for p in map(Path, paths):
        if p.is_dir():
            pairs += [(q, q.relative_to(p)) for q in sorted(x for x in p.rglob("*") if x.is_file() and x.suffix.lower() in IMAGE_SUFFIXES)]
        else:
            pairs.append((p, Path(p.name)))
    stems: dict = {}
    for _, rel in pairs:
        stems[(rel.parent, rel.stem.lower())] = stems.get((rel.parent, rel.stem.lower()), 0) + 1
    return [(src, _out_name(rel, stems)) for src, rel in pairs]


class _Timeout(BaseException):  # not Exception: the importers' last-resort net must not swallow it
    pass


def _alarm(signum, frame):
    raise _Timeout()


def convert_one(src: Path, keep_pixels: bool, reg):
    from ..importers import read_generation
    from ..importers.convert import convert
    from ..importers.errors import ImportFailure
    try:
        gen = read_generation(src)
    except ImportFailure as exc:
        raise AigifError(exc.code, exc.message) from None
    conv = convert(gen, reg)
    if keep_pixels:
        _keep_pixels(conv, src, gen.image_size)
    return conv, codec.write(conv.file, reg)


def _keep_pixels(conv, src: Path, header_size) -> None:
    from PIL import Image

    from ..file import PixelPayload
    from ..regen.pixels import canonical, encode_png
    size = (conv.file.width, conv.file.height)  # within SPEC.md §11: at most 16384 x 16384
    # Compare the size the container's header gives (read by the importer) before Pillow
    # opens the image: a hostile header (100000 x 100000) is refused without decoding,
    # and Pillow's bomb heuristic (DecompressionBombError above 179 Mpixel) never fires.
    if header_size is not None and tuple(header_size) != size:
        w, h = header_size
        conv.lost.append(f"pixels not kept: the image is {w}x{h} but its metadata says {size[0]}x{size[1]} (cropped, upscaled or hires-fixed)")
        return
    saved = Image.MAX_IMAGE_PIXELS
    if header_size is not None:
        Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(src) as im:
            w, h = im.size
            if (w, h) != size:
                conv.lost.append(f"pixels not kept: the image is {w}x{h} but its metadata says {size[0]}x{size[1]} (cropped, upscaled or hires-fixed)")
                return
            px = canonical(im)
    except Exception as exc:  # Pillow raises many types on damaged or hostile images
        conv.lost.append(f"pixels not kept: the image does not decode ({type(exc).__name__})")
        return
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    conv.file.pixels = PixelPayload("png", encode_png(px))
    conv.carried.append("pixels (lossless PNG payload)")


def check_outdir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise AigifError("E_USAGE", f"-o {out}: it is a file; convert writes one .aigif per input into an output directory")
    if not out.exists() and out.suffix.lower() in IMAGE_SUFFIXES | {".aigif"}:
        raise AigifError("E_USAGE", f"-o {out}: convert writes one .aigif per input into an output DIRECTORY; "
                         f"name one without the {out.suffix} extension (e.g. -o {out.with_suffix('')}/)")


def _existing(dest: Path, src: Path, force: bool, reg) -> str | None:
    """None to write ``dest``; "skip" when it is already converted; else why it must not be written."""
    if same_file(dest, src):
        return f"refusing to write {dest}: it is an input of this command"
    if not dest.exists():
        return None
    if dest.is_dir():
        return f"{dest} is a directory"
    if force:
        return None
    try:
        ok = codec.validate(dest.read_bytes(), reg) is None
    except OSError as exc:
        return f"cannot read {dest}: {exc.strerror or exc}"
    return "skip" if ok else f"{dest} exists and is not a valid .aigif; pass --force to replace it"


def run(args) -> int:
    reg = load()
    out = Path(args.output)
    check_outdir(out)
    items = list(inputs(args.paths))
    total_in = total_out = 0
    counts = {"converted": 0, "skipped": 0, "failed": 0}
    tools: dict[str, int] = {}
    use_alarm = hasattr(signal, "SIGALRM")
    if use_alarm:
        signal.signal(signal.SIGALRM, _alarm)
    for i, (src, rel) in enumerate(items, 1):
        dest = out / rel
        rep: dict[str, Any] = {"file": str(src), "output": str(dest)}
        progress = f"[{i}/{len(items)}]"
        why = _existing(dest, src, args.force, reg)
        if why is not None and why != "skip":
            counts["failed"] += 1
            rep.update(status="failed", error={"code": "E_USAGE", "message": why, "offset": None})
            _report(args, rep, progress)
            continue
        if why == "skip":
            counts["skipped"] += 1
            rep["status"] = "skipped (already converted)"
            _report(args, rep, progress)
            continue
        try:
            if use_alarm:
                signal.alarm(TIME_BUDGET_S)
            conv, data = convert_one(src, args.keep_pixels, reg)
        except AigifError as err:
            counts["failed"] += 1
            rep.update(status="failed", error=err.to_json())
            _report(args, rep, progress)
            continue
        except _Timeout:
            counts["failed"] += 1
            rep.update(status="failed", error={"code": "E_LIMIT", "message": f"took more than {TIME_BUDGET_S} s", "offset": None})
            _report(args, rep, progress)
            continue
        finally:
            if use_alarm:
                signal.alarm(0)
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dest, data)
        before = src.stat().st_size
        total_in += before
        total_out += len(data)
        counts["converted"] += 1
        tools[conv.tool] = tools.get(conv.tool, 0) + 1
        rep.update(status="converted", tool=conv.tool, bytes_before=before, bytes_after=len(data),
                   carried=conv.carried, lost=conv.lost, notes=conv.notes)
        _report(args, rep, progress)
    if not args.json:
        print(f"\n{'tool':<16}{'files':>6}")
        for t, n in sorted(tools.items()):
            print(f"{t:<16}{n:>6}")
        ratio = f" ({total_in / total_out:,.0f}× smaller)" if total_out else ""
        print(f"converted {counts['converted']}, skipped {counts['skipped']}, failed {counts['failed']}; "
              f"{total_in:,} bytes of images -> {total_out:,} bytes of .aigif{ratio}")
    return 1 if counts["failed"] else 0


def _report(args, rep: dict, progress: str) -> None:
    if args.json:
        print(json.dumps(rep, ensure_ascii=False))
        return
    if rep["status"] == "failed":
        e = rep["error"]
        print(f"{progress} {rep['file']}: FAILED {e['code']}: {e['message']}", file=sys.stderr)
    elif rep["status"].startswith("skipped"):
        print(f"{progress} {rep['file']}: {rep['status']}")
    else:
        print(f"{progress} {rep['file']} ({rep['tool']}): {rep['bytes_before']:,} -> {rep['bytes_after']:,} bytes")
        print(f"    carried: {', '.join(rep['carried'])}")
        for x in rep["lost"]:
            print(f"    lost: {x}")
