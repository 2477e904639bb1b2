"""Copy each built conformance model's facts into registry/models.json: the
SHA-256 of every weight file (the regenerator verifies them, SPEC.md §12.2) and
the image size it was built for.

    python -m tools.sync_model_registry          # after python -m tools.build_conformance_models
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    path = ROOT / "registry" / "models.json"
    doc = json.loads(path.read_text())
    changed = []
    for m in doc["entries"]:
        local = (m.get("source") or {}).get("local")
        meta = ROOT / local / "aigif-model.json" if local else None
        if not meta or not meta.is_file():
            continue
        info = json.loads(meta.read_text())
        m["weights"] = [{"file": f, "sha256": v["sha256"]} for f, v in sorted(info["files"].items())]
        m["sample_size"] = info.get("default_height") or info["sample_size"] * info["vae_scale_factor"]
        changed.append(m["key"])
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(f"registry/models.json: updated {', '.join(changed) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
