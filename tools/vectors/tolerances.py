"""Tolerance policy for the regen vectors (SPEC.md §12.8, §13.2): from the
measurements in ``conformance/tolerances/measurements-*.json`` (each a run of
``tools/measure_regen.py`` or ``aigif-conformance run --level regen --measure
--results``) to the tolerances in ``conformance/tolerances/regen-tolerances.json``,
which the regen vectors state."""
from __future__ import annotations

import json
import math
from pathlib import Path

from .common import ROOT

TOLERANCES_DIR = ROOT / "conformance" / "tolerances"
TOLERANCES_FILE = TOLERANCES_DIR / "regen-tolerances.json"
TOLERANCE_MARGIN_DB = 3.0
TOLERANCE_CAP_DB = 50.0
#: a tolerance below this could not tell rounding from a changed field (the conformance models
#: move the image to <= 30 dB for any single field, SPEC.md §13.2): such a class gets none
TOLERANCE_USEFUL_DB = 35.0
#: the class of the reference platform itself (SPEC.md §13.2): bit-exact where measured so
REFERENCE_CLASS = "cpu:reference"


def measurement_files() -> list[Path]:
    """The committed measurements, one file per run."""
    return sorted(TOLERANCES_DIR.glob("measurements-*.json"))


def load_tolerances() -> dict:
    """The committed tolerances (empty when there are none yet)."""
    return json.loads(TOLERANCES_FILE.read_text()) if TOLERANCES_FILE.is_file() else {"reference_platform": None, "vectors": {}}


def dumps_tolerances(doc: dict) -> str:
    return json.dumps(doc, indent=2) + "\n"


def tolerances_from(results_files: list[Path], margin: float = TOLERANCE_MARGIN_DB, reference_platform: dict | None = None) -> dict:
    """Per vector and device class, the minimum PSNR any run reached, less
    ``margin`` dB, rounded down, at most TOLERANCE_CAP_DB (identical images
    everywhere still allow last-bit differences on a platform not measured),
    with the measurement that justifies it. A run in a refined class
    (``cpu:reference``) counts for its parent class (``cpu``) too. A class
    whose runs fall below TOLERANCE_USEFUL_DB gets no tolerance (its
    measurement is kept under "unreproducible"); REFERENCE_CLASS gets
    "bit-exact" when every run in it was identical. ``reference_platform``
    is recorded as it is given (by default: the committed one)."""
    if reference_platform is None:
        reference_platform = load_tolerances().get("reference_platform")
    doc = {"reference_platform": reference_platform, "vectors": {}, "unreproducible": {}}
    runs: dict[str, dict[str, list]] = {}
    for path in results_files:
        r = json.loads(Path(path).read_text())
        parts = r["device_class"].split(":")
        classes = [":".join(parts[:i]) for i in range(len(parts), 0, -1)]
        for x in r["results"]:
            if x["class"] != "regen" or "psnr" not in x["detail"]:
                continue
            p = math.inf if x["detail"]["psnr"] == "inf" else float(x["detail"]["psnr"])
            for cls in classes:
                runs.setdefault(x["id"].split("/", 1)[1], {}).setdefault(cls, []).append((p, r.get("platform", "")))
    for name, classes in sorted(runs.items()):
        for cls, ms in sorted(classes.items()):
            lo = min(p for p, _ in ms)
            measured = {"min_psnr": "inf" if math.isinf(lo) else round(lo, 3), "runs": len(ms),
                        "platforms": sorted({pl for _, pl in ms}), "margin_db": margin}
            if cls == REFERENCE_CLASS:
                if math.isinf(lo):
                    doc["vectors"].setdefault(name, {})[cls] = "bit-exact"
                continue
            if lo < TOLERANCE_USEFUL_DB:
                doc["unreproducible"].setdefault(name, {})[cls] = measured
                continue
            need = TOLERANCE_CAP_DB if math.isinf(lo) else min(TOLERANCE_CAP_DB, max(0.0, math.floor(lo - margin)))
            doc["vectors"].setdefault(name, {})[cls] = {"psnr_min": need, "measured": measured}
    return doc
