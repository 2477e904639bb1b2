"""The vectors: ``vectors/manifest.json`` (shape: ``schemas/manifest.schema.json``:
each vector's ID, class, description and files with their SHA-256),
selection by level and ID globs, and SHA-256 checks of the vector files."""
from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..fsutil import sha256_file

LEVELS = ("parse", "reject", "noise", "regen", "diffc")
#: levels whose vectors decode a file's pixel payload (``CMD decode FILE OUT.png``), one a pixel codec
PIXEL_LEVELS = ("diffc",)
MANIFEST = "manifest.json"
MANIFEST_VERSION = 2


class SuiteError(Exception):
    """The vectors themselves are missing or damaged (not the decoder's fault)."""


@dataclass
class Vector:
    """One vector of the manifest. What it expects is in its own files, read
    each time it is asked (after :func:`verify` has checked them against the manifest):
    ``expected`` (parse: the fields; reject: ``{"error", "fault", "spec"}``;
    noise: ``{"source", "seed", "shape", "count", "values", …}``; regen and
    a pixel codec's decode vectors: the PNG; a pixel codec's reject vectors:
    ``{"error", "fault", "spec"}``) and, for images, ``meta``
    (``{"description", "tolerance", …}``)."""
    id: str                      # "<class>/<name>", stable: never changes meaning
    cls: str
    name: str
    description: str = ""
    files: dict[str, Path] = field(default_factory=dict)   # role -> path
    sha256: dict[str, str] = field(default_factory=dict)   # role -> hex

    def _load(self, role: str) -> dict:
        try:
            return json.loads(self.files[role].read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SuiteError(f"{self.id}: {role} file {self.files[role]}: {exc}") from None

    def expected_json(self) -> dict:
        return self._load("expected")

    def meta_json(self) -> dict:
        return self._load("meta")

    @property
    def wants_image(self) -> bool:
        """regen, and a pixel level's decode vectors (those with a ``meta`` file)."""
        return self.cls == "regen" or (self.cls in PIXEL_LEVELS and "meta" in self.files)

    @property
    def expect(self) -> dict:
        """What a decoder must do (CONTRACT.md §1): ``{"outcome": "accept"}``,
        ``{"outcome": "reject", "error"}``, ``{"outcome": "noise", "source",
        "seed", "shape", "count"}`` or ``{"outcome": "image", "tolerance"}``."""
        if self.cls == "parse":
            return {"outcome": "accept"}
        if self.cls == "reject" or (self.cls in PIXEL_LEVELS and not self.wants_image):
            return {"outcome": "reject", "error": self.expected_json()["error"]}
        if self.cls == "noise":
            e = self.expected_json()
            return {"outcome": "noise", **{k: e[k] for k in ("source", "seed", "shape", "count")}}
        return {"outcome": "image", "tolerance": self.meta_json()["tolerance"]}


@dataclass
class Suite:
    root: Path
    manifest: dict
    vectors: list[Vector]

    def by_id(self, ident: str) -> Vector:
        for v in self.vectors:
            if v.id == ident:
                return v
        raise KeyError(ident)


def default_vectors_dir() -> Path:
    """$AIGIF_VECTORS, else the source checkout's ``vectors/``, else ./vectors."""
    env = os.environ.get("AIGIF_VECTORS")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for cand in (here.parents[3] / "vectors", Path.cwd() / "vectors"):
        if (cand / MANIFEST).is_file():
            return cand
    return here.parents[3] / "vectors"


def load_suite(root: str | os.PathLike | None = None) -> Suite:
    root = Path(root) if root else default_vectors_dir()
    path = root / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"no {MANIFEST} in {root} (pass --vectors DIR)") from None
    except ValueError as exc:
        raise SuiteError(f"{path}: not valid JSON ({exc})") from None
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        raise SuiteError(f"{path}: manifest_version {manifest.get('manifest_version')!r}; this runner reads version {MANIFEST_VERSION}")
    vectors = []
    for e in manifest.get("vectors", []):
        files = {role: root / f["path"] for role, f in e["files"].items()}
        sha = {role: f["sha256"] for role, f in e["files"].items()}
        cls, _, name = e["id"].partition("/")
        if cls != e["class"] or cls not in LEVELS:
            raise SuiteError(f"manifest: vector {e['id']!r} has class {e['class']!r}")
        need = {"parse": ("input", "expected"), "reject": ("input", "expected"), "noise": ("expected",),
                "regen": ("input", "expected", "meta"), "diffc": ("input", "expected")}[cls]
        if not set(need) <= set(files):
            raise SuiteError(f"manifest: vector {e['id']!r} needs files {', '.join(need)}")
        vectors.append(Vector(e["id"], cls, name, e.get("description", ""), files, sha))
    return Suite(root, manifest, vectors)


def _globs(items: list[str] | None) -> list[str]:
    out = []
    for item in items or []:
        out += [g.strip() for g in item.split(",") if g.strip()]
    return out


def matches(v: Vector, pattern: str) -> bool:
    return fnmatch.fnmatchcase(v.id, pattern) or fnmatch.fnmatchcase(v.name, pattern)


def select(vectors: list[Vector], levels: list[str] | None = None, only: list[str] | None = None,
           skip: list[str] | None = None) -> list[Vector]:
    """Vectors of the given levels whose ID (``class/name``) or name matches
    any ``only`` glob (all when none) and no ``skip`` glob."""
    levels = list(LEVELS) if not levels else levels
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise SuiteError(f"unknown level(s) {', '.join(bad)}; the levels are {', '.join(LEVELS)}")
    only_g, skip_g = _globs(only), _globs(skip)
    return [v for v in vectors if v.cls in levels
            and (not only_g or any(matches(v, g) for g in only_g))
            and not any(matches(v, g) for g in skip_g)]


def verify(vectors: list[Vector]) -> list[str]:
    """Problems with the vector files: missing, or SHA-256 not the manifest's."""
    problems = []
    for v in vectors:
        for role, path in v.files.items():
            if not path.is_file():
                problems.append(f"{v.id}: {role} file {path} is missing")
            elif sha256_file(path) != v.sha256[role]:
                problems.append(f"{v.id}: {role} file {path} does not match its SHA-256 in the manifest")
    return problems
