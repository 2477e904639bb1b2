"""aigif convert PATH... -o OUTDIR: AI images with embedded metadata -> .aigif.

Inputs are only read, never modified. Each output is written atomically, so
an interrupted run leaves no partial file; a re-run skips inputs whose .aigif
already exists and is valid.

Output names: a directory argument's tree is mirrored under OUTDIR; file
arguments keep their paths relative to the directory they have in common
(one file, or files beside each other: just their names), so two inputs
with the same name in different folders never meet. Two inputs that would
still share an output are refused before any work. ``name.aigif`` becomes
``name.ext.aigif`` when another input beside it has the same stem; the
output a previous run gave the same input under the other form is then
stale and is removed once the new one is written (the outputs of inputs
that no longer exist are kept: they may be all that is left of them).

Symlinks (SPEC.md §16): inside a directory argument, a symlink that leads
out of it, or to a directory, is skipped and listed (``--follow-symlinks``
follows them); a file named on the command line is read wherever it
points. Nothing is written through a symlinked directory out of OUTDIR,
and an existing output that is a symlink, FIFO or device is never read
(it is "not a valid .aigif": --force replaces the link itself).
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from .. import codec
from ..errors import AigifError
from ..fsutil import atomic_write, open_regular
from ..registry import load
from ..safetext import json_text, printable
from .common import add_walk_options, read_file, same_file, walk

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
TIME_BUDGET_S = 20  # per file: a hostile image must not stall a batch


def add_arguments(p):
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or directories (searched recursively)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output directory (created if missing)")
    p.add_argument("--keep-pixels", action="store_true", help="embed the original pixels as a lossless PNG payload in complete recipes too")
    p.add_argument("--no-pixels", action="store_true", help="do not embed the pixels of partial records (they then cannot show their image)")
    p.add_argument("--json", action="store_true", help="one JSON report per file on stdout")
    p.add_argument("--force", action="store_true", help="convert again even if the .aigif exists (and replace an output that is not a valid .aigif)")
    add_walk_options(p)


def _out_name(rel: Path, stems: dict) -> Path:
    """``name.aigif``, or ``name.ext.aigif`` when another input beside it has
    the same stem (a.png and a.jpg): stable across re-runs over the same inputs."""
    clash = stems.get((rel.parent, rel.stem.lower()), 0) > 1
    return rel.with_name(rel.name + ".aigif") if clash else rel.with_suffix(".aigif")


def inputs(paths: list[str], follow_symlinks: bool = False, skipped: list | None = None):
    """(input file, output path relative to OUTDIR) pairs, in a stable order;
    files left out of directories are appended to ``skipped`` as (path, why)."""
    pairs: list[tuple[Path, Path]] = []
    files = [Path(p) for p in paths if not Path(p).is_dir()]
    # file arguments: relative to the directory they share, so a/x.png and b/x.png stay apart
    base = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files]) if files else ""
    for p in map(Path, paths):
        if p.is_dir():
            found, left = walk(str(p), IMAGE_SUFFIXES, follow_symlinks, report_other=True)
            if skipped is not None:
                skipped += left
            pairs += [(Path(q), Path(q).relative_to(p)) for q in found]
        else:
            pairs.append((p, Path(os.path.relpath(os.path.abspath(p), base))))
    stems: dict = {}
    for _, rel in pairs:
        stems[(rel.parent, rel.stem.lower())] = stems.get((rel.parent, rel.stem.lower()), 0) + 1
    out: list[tuple[Path, Path]] = []
    seen: dict[str, Path] = {}
    for src, rel in pairs:
        dest = _out_name(rel, stems)
        key = str(dest).lower()  # case-insensitive file systems would merge these too
        if key in seen:
            if same_file(seen[key], src):
                continue  # the same file named twice
            raise AigifError("E_USAGE", f"{seen[key]} and {src} would both be written to {dest}; convert them separately")
        seen[key] = src
        out.append((src, dest))
    return out


def stale_name(rel: Path, src: Path) -> Path:
    """The other name a previous run could have given input ``src``, whose
    output is now ``rel``: ``a.aigif`` for ``a.png.aigif`` and back."""
    name = rel.with_suffix("")  # a.png.aigif -> a.png ; a.aigif -> a
    if rel.name.lower() == (src.name + ".aigif").lower():
        return name.with_suffix(".aigif")                 # now a.png.aigif: was a.aigif
    return rel.with_name(f"{name.name}{src.suffix}.aigif")  # now a.aigif: was a.png.aigif


class _Timeout(BaseException):  # not Exception: the importers' last-resort net must not swallow it
    pass


def _alarm(signum, frame):
    raise _Timeout()


def convert_one(src: Path, keep_pixels: bool | None, reg):
    from ..importers import read_generation
    from ..importers.convert import convert
    from ..importers.errors import ImportFailure
    try:
        gen = read_generation(src)
    except ImportFailure as exc:
        raise AigifError(exc.code, exc.message) from None
    conv = convert(gen, reg)
    partial = conv.file.extension("partial") is not None
    if keep_pixels is True or (keep_pixels is None and partial):  # None: pixels for partial records only (SPEC.md §12.10)
        _keep_pixels(conv, src, gen.image_size)
    return conv, codec.write(conv.file, reg)


def _keep_pixels(conv, src: Path, header_size) -> None:
    from PIL import Image

    from ..file import PixelPayload
    from ..regen import MAX_PIXELS
    from ..regen.pixels import canonical, encode_png
    size = (conv.file.width, conv.file.height)  # within SPEC.md §11: at most 16384 x 16384
    if size[0] * size[1] > MAX_PIXELS:  # the decode budget of SPEC.md §16: no 805 MB image for a 1 MB file
        conv.lost.append(f"pixels not kept: {size[0]}x{size[1]} is over the {MAX_PIXELS:,}-pixel budget")
        return
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


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symlinks resolved as far as it exists, stays in ``root``."""
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _existing(dest: Path, src: Path, force: bool, reg, out: Path, follow: bool) -> str | None:
    """None to write ``dest``; "skip" when it is already converted; else why it must not be written."""
    if not follow and not _inside(dest.parent, out):
        return f"refusing to write {dest}: a symlinked directory leads out of {out} (--follow-symlinks allows it)"
    if same_file(dest, src):
        return f"refusing to write {dest}: it is an input of this command"
    if not os.path.lexists(dest):
        return None
    if dest.is_dir() and not dest.is_symlink():
        return f"{dest} is a directory"
    if force:
        return None
    try:  # bounded, regular files only: a FIFO or a link to /dev/zero here must not hang or exhaust us
        ok = codec.validate(read_file(str(dest)), reg) is None
    except AigifError:
        ok = False
    return "skip" if ok else f"{dest} exists and is not a valid .aigif; pass --force to replace it"


def _remove_stale(out: Path, src: Path, rel: Path, current: set, sources: set, reg) -> str | None:
    """Remove the output an earlier run gave ``src`` under its other name
    (see the module's docstring); returns the path removed."""
    for old in [stale_name(rel, src)]:
        path = out / old
        if old in current or not os.path.isfile(path) or os.path.islink(path):
            continue
        # An image beside src that could own that name, and is not converted in this run: not stale.
        stem = old.with_suffix("").name
        owners = [src.with_name(stem + ext) for ext in IMAGE_SUFFIXES] + [src.with_name(stem)]
        if any(o.exists() and os.path.abspath(o) not in sources for o in owners):
            continue
        try:
            if codec.validate(read_file(str(path)), reg) is not None:
                continue  # not one of ours: leave it
            os.unlink(path)
        except (AigifError, OSError):
            continue
        return str(path)
    return None


def run(args) -> int:
    if args.keep_pixels and args.no_pixels:
        raise AigifError("E_USAGE", "--keep-pixels and --no-pixels contradict each other")
    reg = load()
    out = Path(args.output)
    check_outdir(out)
    follow = getattr(args, "follow_symlinks", False)
    left_out: list[tuple[str, str]] = []
    items = list(inputs(args.paths, follow, left_out))
    for path, reason in left_out:
        _report(args, {"file": path, "output": None, "status": f"skipped ({reason})"}, "[-]")
    if not items:
        print(printable(f"aigif convert: warning: no image ({', '.join(sorted(IMAGE_SUFFIXES))}) found in "
                        f"{', '.join(args.paths)}; nothing converted"), file=sys.stderr)
        return 1
    current = {rel for _, rel in items}
    sources = {os.path.abspath(src) for src, _ in items}
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
        why = _existing(dest, src, args.force, reg, out, follow)
        if why is not None and why != "skip":
            counts["failed"] += 1
            rep.update(status="failed", error={"code": "E_USAGE", "message": why, "offset": None})
            _report(args, rep, progress)
            continue
        if why == "skip":
            counts["skipped"] += 1
            rep["status"] = "skipped (already converted)"
            stale = _remove_stale(out, src, rel, current, sources, reg)
            if stale:
                rep["removed_stale"] = stale
            _report(args, rep, progress)
            continue
        try:
            if use_alarm:
                signal.alarm(TIME_BUDGET_S)
            os.close(open_regular(src))  # a FIFO or device named as an input: refused, never opened blocking
            conv, data = convert_one(src, False if args.no_pixels else (True if args.keep_pixels else None), reg)
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
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not follow and not _inside(dest.parent, out):  # a symlink appeared during the run
                raise AigifError("E_USAGE", f"refusing to write {dest}: a symlinked directory leads out of {out}")
            atomic_write(dest, data)
        except (OSError, AigifError) as exc:
            counts["failed"] += 1
            werr = exc if isinstance(exc, AigifError) else AigifError("E_IO", f"cannot write {dest}: {exc.strerror or exc}")
            rep.update(status="failed", error=werr.to_json())
            _report(args, rep, progress)
            continue
        stale = _remove_stale(out, src, rel, current, sources, reg)
        if stale:
            rep["removed_stale"] = stale
        before = src.stat().st_size
        total_in += before
        total_out += len(data)
        counts["converted"] += 1
        tools[conv.tool] = tools.get(conv.tool, 0) + 1
        rep.update(status="converted", tool=conv.tool, bytes_before=before, bytes_after=len(data),
                   record="partial" if conv.file.extension("partial") is not None else "complete",
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
    """One file's line(s). Everything here is attacker-chosen (names, importer
    values): printed through printable / json_text (SPEC.md §16)."""
    if args.json:
        print(json_text(rep))
        return
    name = printable(rep["file"])
    if rep["status"] == "failed":
        e = rep["error"]
        print(f"{progress} {name}: FAILED {e['code']}: {printable(e['message'])}", file=sys.stderr)
    elif rep["status"].startswith("skipped"):
        print(f"{progress} {name}: {printable(rep['status'])}")
    else:
        kind = "partial record" if rep.get("record") == "partial" else "complete recipe"  # SPEC.md §12.10
        print(f"{progress} {name} ({printable(rep['tool'])}): {rep['bytes_before']:,} -> {rep['bytes_after']:,} bytes, {kind}")
        print(f"    carried: {printable(', '.join(rep['carried']))}")
        for x in rep["lost"]:
            print(f"    lost: {printable(x)}")
    if rep.get("removed_stale"):
        print(f"    removed {printable(rep['removed_stale'])}: this input's output under its earlier name")
