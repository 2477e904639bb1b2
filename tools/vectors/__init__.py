"""The AIGIF conformance vectors' builder (SPEC.md §13.2, conformance/CONTRACT.md).

    python -m tools.vectors            # rebuild vectors/{parse,reject,noise,regen,diffc} and the manifest

Deterministic: no randomness without a fixed seed, no dependence on the zlib
build (PNG payloads use stored DEFLATE blocks; DEFLATE test streams are
written symbol by symbol), no timestamps. Every vector is checked against the
reference implementation while it is built, and a vector the reference
disagrees with, or one that cannot be made here, stops the build.

IDs (``class/name``) are stable: a vector never changes meaning. A wrong
vector is fixed under a new name and the old name retired, never reused.

One job a module: :mod:`.common` (registry, the vectors so far),
:mod:`.files` (a file field by field), :mod:`.fixtures` (the valid files the
vectors start from), :mod:`.deflate`, :mod:`.parse_cases`,
:mod:`.reject_cases`, :mod:`.noise`, :mod:`.regen_cases`, :mod:`.diffc_cases`
(pixel-payload vectors; their model-made files carried over),
:mod:`.tolerances` (measurements to tolerances), :mod:`.manifest` (writing),
``__main__`` (the command line). The bit strings are
:mod:`aigif.conformance.bitwriter`, shared with ``fuzz/``.
"""
from __future__ import annotations

from pathlib import Path

from .common import CLASSES, ROOT, BuildError, Vectors
from .diffc_cases import build_diffc
from .manifest import compare_dirs, write
from .noise import build_noise
from .parse_cases import build_parse
from .regen_cases import build_regen
from .reject_cases import build_reject

__all__ = ["BuildError", "build", "collect", "compare_dirs"]


def collect(committed: Path | None = None, render: bool | str = False) -> Vectors:
    """Every vector, built and checked (regen images carried over from
    ``committed``, default vectors/, unless ``render``)."""
    vs = Vectors()
    build_parse(vs)
    build_reject(vs)
    build_noise(vs)
    build_regen(vs, committed or ROOT / "vectors", render)
    build_diffc(vs, committed or ROOT / "vectors")
    empty = [c for c in CLASSES if not any(v.cls == c for v in vs.vectors)]
    if empty:
        raise BuildError(f"no {', '.join(empty)} vectors")
    return vs


def build(out: Path, render: bool | str = False, committed: Path | None = None) -> dict:
    """Build every vector into ``out`` and return the manifest."""
    return write(out, collect(committed, render).vectors)
