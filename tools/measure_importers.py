"""How well the importers read the real-world corpus: per tool, files, converted, field mismatches, lost items.

Walks every ``tests/data/realworld/**/X.expected.json`` next to its image ``X.<ext>``: the expected file
holds the fields established by reading the image's metadata by hand (any of the ImportedGeneration
fields, e.g. prompt, seed, steps, cfg_scale, sampler, schedule, width, height, model_name, denoise), or
``"error"``: the ImportFailure code the image must give. Keys that are not fields (``source_url``,
``license``, ``base_node``, ...) are not compared, except ``source_tool``, which groups the table.

A mismatch is a field whose value differs from the expected one; it is *named* when one of the record's
``lost`` items mentions the field (the importer said it could not carry it), *silent* otherwise.

    python tools/measure_importers.py [--json] [ROOT]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))

from aigif.importers import ImportFailure, read_generation  # noqa: E402
from aigif.importers.generation import ImportedGeneration  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / "tests" / "data" / "realworld"
#: Expected-file keys that describe the file, not a field of the record.
META_KEYS = {"source_url", "license", "source_tool", "error", "base_node", "base_class", "model_family", "notes"}
#: Words a ``lost`` item uses for a field (an item naming any of them names the field).
FIELD_WORDS = {"prompt": ("prompt",), "negative_prompt": ("negative",), "seed": ("seed",), "steps": ("steps",),
               "cfg_scale": ("cfg",), "sampler": ("sampler",), "schedule": ("schedul", "sigmas"),
               "width": ("width", "size"), "height": ("height", "size"), "model_name": ("model",),
               "denoise": ("denoise",), "clip_skip": ("clip skip", "clip_skip"), "vae": ("vae",),
               "model_hash": ("hash",), "loras": ("lora",), "source_version": ("version",),
               "eta_noise_seed_delta": ("ensd", "eta noise", "noise seed delta")}
FIELDS = {f.name for f in ImportedGeneration.__dataclass_fields__.values()}


def image_of(expected: Path) -> Path | None:
    stem = expected.name[: -len(".expected.json")]
    found = [p for p in expected.parent.iterdir() if p.name.startswith(stem + ".") and p != expected
             and not p.name.endswith(".json")]
    return found[0] if len(found) == 1 else None


def names_field(lost: list[str], field: str) -> bool:
    words = FIELD_WORDS.get(field, (field.replace("_", " "),))
    return any(w in item.lower() for item in lost for w in words)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-9
    return a == b


def check(expected_path: Path) -> dict:
    """One file: {"tool", "file", "converted", "mismatches": [(field, expected, got, named)], "lost", "error"}."""
    exp = json.loads(expected_path.read_text(encoding="utf-8"))
    img = image_of(expected_path)
    out: dict = {"tool": exp.get("source_tool") or expected_path.parent.name, "file": str(expected_path),
                 "converted": False, "mismatches": [], "lost": 0, "error": None}
    if img is None:
        out["error"] = "no image next to the expected file"
        return out
    try:
        gen = read_generation(img)
    except ImportFailure as e:
        out["error"] = e.code
        if exp.get("error") != e.code:
            out["mismatches"].append(("error", exp.get("error"), e.code, False))
        return out
    out["converted"] = True
    out["lost"] = len(gen.lost)
    if exp.get("error"):
        out["mismatches"].append(("error", exp["error"], None, False))
    for field, want in exp.items():
        if field in META_KEYS or field not in FIELDS:
            continue
        got = getattr(gen, field)
        if not same(want, got):
            out["mismatches"].append((field, want, got, names_field(gen.lost, field)))
    return out


def measure(root: Path = ROOT) -> list[dict]:
    return [check(p) for p in sorted(root.rglob("*.expected.json"))]


def table(results: list[dict]) -> str:
    rows: dict[str, list[int]] = {}
    for r in results:
        row = rows.setdefault(r["tool"], [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += r["converted"]
        row[2] += sum(1 for m in r["mismatches"] if m[3])
        row[3] += sum(1 for m in r["mismatches"] if not m[3])
        row[4] += r["lost"]
    head = f"{'tool':<16} {'files':>5} {'converted':>9} {'mismatch named':>14} {'mismatch silent':>15} {'lost items':>10}"
    lines = [head, "-" * len(head)]
    for tool, (n, conv, named, silent, lost) in sorted(rows.items()):
        lines.append(f"{tool:<16} {n:>5} {conv:>9} {named:>14} {silent:>15} {lost:>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", type=Path, default=ROOT)
    ap.add_argument("--json", action="store_true", help="every file's result as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every mismatch")
    args = ap.parse_args(argv)
    results = measure(args.root)
    if args.json:
        json.dump(results, sys.stdout, indent=1, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return 0
    print(table(results))
    if args.verbose:
        for r in results:
            for field, want, got, named in r["mismatches"]:
                print(f"{'named ' if named else 'SILENT'} {r['file']}: {field}: expected {want!r:.80}, got {got!r:.80}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
