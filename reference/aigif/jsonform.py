"""The JSON field representation (SPEC.md §17): ``aigif info`` and its exact
inverse ``aigif pack``. Shape: ``schemas/info.schema.json``."""
from __future__ import annotations

import base64
from typing import Any

from .errors import AigifError
from .file import AigifFile, Extension, ModelPayload, PixelPayload
from .registry import Registry, load

FORMAT = "aigif"


def _field_types(reg: Registry, f_model: str) -> dict[str, str]:
    return {x.name: x.type for x in reg.family_of(f_model).fields + reg.model_fields(f_model)}


def _out(value, ftype: str):
    return value.hex() if ftype == "bytes" else value


def _in(value, ftype: str, name: str):
    if ftype == "bytes":
        if not isinstance(value, str):
            raise AigifError("E_FIELDS", f"{name} must be a hex string")
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise AigifError("E_FIELDS", f"{name} is not valid hex") from None
    if ftype == "dec" and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an integer past binary64 (about 1.8e308): no dec holds it
            raise AigifError("E_RANGE", f"{name} = {str(value)[:20]}… is too large for a dec field") from None
    return value


def to_json(f: AigifFile, reg: Registry | None = None) -> dict:
    reg = reg or load()
    types = _field_types(reg, f.model)
    exts = []
    for e in f.extensions:
        d: dict[str, Any] = {"tag": e.tag, "critical": e.critical}
        if e.key is not None and e.fields is not None:  # registered: both are set (sections, from_json, Extension.of)
            ftypes = {x["name"]: x["type"] for x in reg.extensions.by_id[e.tag]["fields"]}
            d["key"] = e.key
            d["fields"] = {k: _out(v, ftypes[k]) for k, v in e.fields.items()}
        else:
            d["raw"] = e.raw.hex()
        exts.append(d)
    return {
        "format": FORMAT,
        "version": 1,
        "text_coder": f.text_coder,
        "device": f.device,
        "platform": dict(f.platform),
        "model": f.model,
        "dtype": f.dtype,
        "noise": f.noise,
        "height": f.height,
        "width": f.width,
        "seed": f.seed,
        "prompt": f.prompt,
        "negative_prompt": f.negative_prompt,
        "fields": {k: _out(v, types.get(k, "str")) for k, v in f.fields.items()},
        "model_fields": {k: _out(v, types.get(k, "str")) for k, v in f.model_fields.items()},
        "digest": None if f.digest is None else f.digest.hex(),
        "extensions": exts,
        "pixels": None if f.pixels is None else {"codec": f.pixels.codec, "data": base64.b64encode(f.pixels.data).decode()},
        "model_payload": None if f.model_payload is None else {
            "compressor": f.model_payload.compressor, "sha256": f.model_payload.sha256.hex(),
            "data": base64.b64encode(f.model_payload.data).decode()},
    }


def _b64(s, name):
    try:
        return base64.b64decode(s, validate=True)
    except (ValueError, TypeError):
        raise AigifError("E_FIELDS", f"{name} is not valid base64") from None


def from_json(d: dict, reg: Registry | None = None) -> AigifFile:
    """Build an AigifFile from the JSON shape; missing family fields take the
    registry defaults, so a hand-written FIELDS.json may be short."""
    reg = reg or load()
    if not isinstance(d, dict):
        raise AigifError("E_FIELDS", "fields JSON must be an object")
    try:
        model = d["model"]
        if model not in reg.table("models"):
            raise AigifError("E_UNKNOWN_ID", f"models has no entry {model!r}")
        types = _field_types(reg, model)
        fields = {x.name: x.default for x in reg.family_of(model).fields}
        fields.update({k: _in(v, types.get(k, "?"), k) for k, v in d.get("fields", {}).items()})
        mfields = {x.name: _in(x.default, x.type, x.name) for x in reg.model_fields(model)}
        mfields.update({k: _in(v, types.get(k, "?"), k) for k, v in d.get("model_fields", {}).items()})
        device = d.get("device", "unknown")
        platform = {x.name: x.default for x in reg.device_fields(device)} if device in reg.table("devices") else {}
        platform.update(d.get("platform", {}))
        exts = []
        for e in d.get("extensions", []):
            tag = e["tag"]
            if "fields" in e and tag in reg.extensions.by_id:
                ftypes = {x["name"]: x["type"] for x in reg.extensions.by_id[tag]["fields"]}
                exts.append(Extension(tag, b"", reg.extensions.by_id[tag]["key"],
                                      {k: _in(v, ftypes.get(k, "?"), k) for k, v in e["fields"].items()}))
            else:
                exts.append(Extension(tag, bytes.fromhex(e.get("raw", ""))))
        px = d.get("pixels")
        mp = d.get("model_payload")
        return AigifFile(
            model=model, height=d["height"], width=d["width"], seed=d["seed"],
            prompt=d.get("prompt", ""), negative_prompt=d.get("negative_prompt", ""),
            fields=fields, model_fields=mfields, device=device, platform=platform,
            dtype=d.get("dtype", "float16"), noise=d.get("noise", "torch-cpu"),
            text_coder=d.get("text_coder", "deflate"),
            digest=None if d.get("digest") is None else bytes.fromhex(d["digest"]),
            extensions=exts,
            pixels=None if px is None else PixelPayload(px["codec"], _b64(px["data"], "pixels.data")),
            model_payload=None if mp is None else ModelPayload(mp["compressor"], bytes.fromhex(mp["sha256"]), _b64(mp["data"], "model_payload.data")),
        )
    except KeyError as exc:
        raise AigifError("E_FIELDS", f"missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise AigifError("E_FIELDS", f"malformed fields JSON ({exc})") from None


def new(model: str, reg: Registry | None = None, **kw) -> AigifFile:
    """An AigifFile with registry defaults for everything not given.

    >>> from aigif import codec, jsonform
    >>> f = jsonform.new("sd-1.5", prompt="A cute cat", height=512, width=512, seed=42)
    >>> f.fields["scheduler"], f.fields["steps"], f.fields["guidance"]
    ('default', 50, 7.5)
    >>> jsonform.to_json(f)["prompt"], len(codec.write(f))
    ('A cute cat', 33)
    """
    d = {"model": model, **kw}
    return from_json(d, reg)
