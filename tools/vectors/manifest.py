"""Writing the vectors and ``vectors/manifest.json`` (schema:
``schemas/manifest.schema.json``): what a runner needs to find the vectors
and check their files. What a vector expects is in its own files only."""
from __future__ import annotations

import filecmp
import hashlib
import json
import re
import shutil
from pathlib import Path

from aigif.registry import registry_dir

from .common import CLASSES, ROOT, BuildError, Built

MANIFEST_VERSION = 2
CLASS_COMMANDS = {"parse": "parse FILE", "reject": "parse FILE", "noise": "noise SOURCE SEED COUNT C H W", "regen": "render FILE OUT.png",
                  "diffc": "decode FILE OUT.png"}


def registry_files() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(registry_dir().glob("*.json"))}


def registry_sha256(files: dict[str, str]) -> str:
    """SHA-256 of the lines "NAME SHA256\\n" of the registry tables, sorted by name."""
    return hashlib.sha256("".join(f"{n} {h}\n" for n, h in sorted(files.items())).encode()).hexdigest()


def registry_version() -> str:
    path = registry_dir() / "registry.json"
    if not path.is_file():
        raise BuildError(f"{path} is missing: the registry's version (SPEC.md §8.4) comes from it")
    return json.loads(path.read_text(encoding="utf-8"))["version"]


def spec_version() -> str:
    m = re.search(r"^Status: .*?version (\d+\.\d+)", (ROOT / "SPEC.md").read_text(encoding="utf-8"), re.M)
    if not m:
        raise BuildError("SPEC.md does not state its version on its Status line")
    return m.group(1)


def manifest_of(vectors: list[Built]) -> dict:
    files = registry_files()
    first = next(v for v in vectors if v.cls == "parse")
    return {
        "$schema": "../schemas/manifest.schema.json",
        "format": "aigif-conformance-manifest",
        "manifest_version": MANIFEST_VERSION,
        "spec_version": spec_version(),
        "format_version": first.files["input"][1][3],   # the version byte of the valid files
        "registry": {"version": registry_version(), "sha256": registry_sha256(files), "files": files},
        "generated_by": "python -m tools.vectors",
        "contract": "conformance/CONTRACT.md",
        "classes": {c: {"command": CLASS_COMMANDS[c], "count": sum(v.cls == c for v in vectors)} for c in CLASSES},
        "vectors": [{"id": v.id, "class": v.cls, "description": v.description,
                     "files": {role: {"path": f"{v.cls}/{fname}", "sha256": hashlib.sha256(data).hexdigest()}
                               for role, (fname, data) in v.files.items()}} for v in vectors],
    }


def dumps_manifest(manifest: dict) -> bytes:
    """Indented JSON with one line per vector (a changed vector is a changed line)."""
    head = json.dumps({k: v for k, v in manifest.items() if k != "vectors"}, indent=2, ensure_ascii=False)
    rows = ",\n".join("    " + json.dumps(v, ensure_ascii=False) for v in manifest["vectors"])
    return (head[:-2] + f',\n  "vectors": [\n{rows}\n  ]\n}}\n').encode("utf-8")


def write(out: Path, vectors: list[Built]) -> dict:
    """The vectors' files under ``out/<class>/`` (each class directory replaced) and the manifest."""
    manifest = manifest_of(vectors)
    out.mkdir(parents=True, exist_ok=True)
    for c in CLASSES:
        d = out / c
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
    for v in vectors:
        for fname, data in v.files.values():
            (out / v.cls / fname).write_bytes(data)
    (out / "manifest.json").write_bytes(dumps_manifest(manifest))
    return manifest


def compare_dirs(a: Path, b: Path) -> list[str]:
    """Files that differ between two vector directories (the classes and the manifest)."""
    diffs = []
    for c in CLASSES:
        names = {p.name for p in (a / c).glob("*")} | {p.name for p in (b / c).glob("*")}
        for n in sorted(names):
            pa, pb = a / c / n, b / c / n
            if not pa.exists() or not pb.exists() or not filecmp.cmp(pa, pb, shallow=False):
                diffs.append(f"{c}/{n}")
    if not filecmp.cmp(a / "manifest.json", b / "manifest.json", shallow=False):
        diffs.append("manifest.json")
    return diffs
