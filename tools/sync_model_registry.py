"""Copy each built conformance model's facts into registry/models.json (SPEC.md §12.2):

- ``files``: every file of the model directory that decides the image — model_index.json,
  each component's config, the tokenizer files, the weights — with its SHA-256 and size
  (the regenerator verifies each one and loads only these files);
- ``manifest_sha256``: one digest over that list (``aigif.regen.modelfiles.manifest_sha256``);
- ``architecture``: the config values that identify the model (unet sample_size, ...), so a
  directory of another model of the family is refused by name before it loads;
- ``sample_size``: the image size it was built for.

The files are hashed as they are on disk; the weights must still be the bytes the build
recorded in ``aigif-model.json`` (the vectors depend on them).

    python -m tools.sync_model_registry          # after python -m tools.build_conformance_models
    python -m tools.sync_model_registry --check  # exit 1 if the registry is not up to date
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "reference"))

from aigif.fsutil import sha256_file  # noqa: E402
from aigif.regen.modelfiles import manifest_sha256  # noqa: E402

#: the model's own description, written by the build; diffusers never reads it
DESCRIPTOR = "aigif-model.json"
#: per component kind, the config values that identify a model (those present are recorded)
ARCH_KEYS = {
    "unet": ("sample_size", "in_channels", "block_out_channels", "cross_attention_dim", "addition_embed_type"),
    "transformer": ("sample_size", "in_channels", "num_layers", "joint_attention_dim", "pooled_projection_dim"),
    "text_encoder": ("hidden_size", "num_hidden_layers", "d_model", "num_layers"),
    "vae": ("latent_channels", "scaling_factor", "block_out_channels"),
}


def model_files(model_dir: Path) -> list[dict]:
    return [{"file": p.relative_to(model_dir).as_posix(), "sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(model_dir.rglob("*"), key=lambda p: p.relative_to(model_dir).as_posix().encode())
            if p.is_file() and p.name != DESCRIPTOR]


def architecture(model_dir: Path) -> dict:
    out = {}
    for cfg_path in sorted(model_dir.glob("*/config.json")):
        comp = cfg_path.parent.name
        keys = ARCH_KEYS.get(comp.rstrip("_0123456789"))
        if not keys:
            continue
        cfg = json.loads(cfg_path.read_text())
        facts = {k: cfg[k] for k in keys if k in cfg and cfg[k] is not None}
        if facts:
            out[comp] = facts
    return out


def synced(doc: dict) -> tuple[dict, list[str]]:
    changed = []
    for m in doc["entries"]:
        local = (m.get("source") or {}).get("local")
        meta = ROOT / local / DESCRIPTOR if local else None
        if not meta or not meta.is_file():
            continue
        info = json.loads(meta.read_text())
        files = model_files(meta.parent)
        by_path = {f["file"]: f for f in files}
        for rel, built in info["files"].items():  # the weights are fixed: the vectors depend on them
            if by_path.get(rel, {}).get("sha256") != built["sha256"]:
                raise SystemExit(f"{local}/{rel} is not the file the build recorded in {DESCRIPTOR}: "
                                 "restore it (the conformance vectors depend on these bytes)")
        new = {"files": files, "manifest_sha256": manifest_sha256(files), "architecture": architecture(meta.parent),
               "sample_size": info.get("default_height") or info["sample_size"] * info["vae_scale_factor"]}
        if any(m.get(k) != v for k, v in new.items()) or "weights" in m:
            changed.append(m["key"])
        m.pop("weights", None)  # registry 1.x before every file was listed
        m.update(new)
    return doc, changed


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = ROOT / "registry" / "models.json"
    doc, changed = synced(json.loads(path.read_text()))
    if "--check" in argv:
        if changed:
            print(f"registry/models.json is out of date for {', '.join(changed)}: run python -m tools.sync_model_registry")
            return 1
        return 0
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(f"registry/models.json: updated {', '.join(changed) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
