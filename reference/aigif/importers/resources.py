"""An imported generation's LoRAs, embeddings and VAE as the ``resources`` extension
(SPEC.md §12.11), for the sources whose names and hashes are known to mean what
the extension records: AUTOMATIC1111 and the tools that write its infotext.

A1111 names a LoRA in the prompt (``<lora:NAME:TE[:UNET]>``, also ``te=``/``unet=``;
the UNet multiplier defaults to the text encoder's) and lists ``Lora hashes`` —
12 hex digits of the SHA-256 of the tensors after the safetensors header
(AutoV3) — ``TI hashes`` (12 hex digits of the whole file's SHA-256) and a
``VAE`` with its ``VAE hash`` (AutoV2: 10 hex digits of the file's SHA-256).
Whatever cannot be said exactly (a weight only the hash list knows, extra
arguments such as ``lbw=``, a hash that is not hex, more than the extension
holds) is a problem: the caller then keeps the resources as lost items.
"""
from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any

from ..regen.resources import MAX_RESOURCES, Resource

#: tools whose infotext this module reads
A1111_TOOLS = ("AUTOMATIC1111", "Forge", "SD.Next")
#: file suffixes A1111 writes in a VAE's name; a resource is found as NAME.safetensors
SAFE_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".ckpt", ".pt", ".bin", ".pth")
#: the extension's weight range (registry/extensions.json, weight_N / te_weight_N)
MAX_WEIGHT = 100


def _hex(value: Any, what: str, problems: list[str]) -> bytes:
    text = str(value).strip()
    try:
        return bytes.fromhex(text) if len(text) % 2 == 0 and len(text) <= 64 else _bad(text, what, problems)
    except ValueError:
        return _bad(text, what, problems)


def _bad(text: str, what: str, problems: list[str]) -> bytes:
    problems.append(f"{what}: hash {text[:70]!r} is not a hex SHA-256 prefix")
    return b""


def _weight(value: Any, what: str, problems: list[str]) -> float:
    try:
        w = float(value)
    except (TypeError, ValueError):
        w = math.nan
    if not (math.isfinite(w) and -MAX_WEIGHT <= w <= MAX_WEIGHT):
        problems.append(f"{what}: multiplier {str(value)[:40]!r} is outside -{MAX_WEIGHT}..{MAX_WEIGHT}")
        return 1.0
    return w


def _lora(entry: dict, problems: list[str]) -> Resource:
    name = str(entry.get("name") or "")
    what = f"LoRA {name!r}"
    if entry.get("weight") is None:
        problems.append(f"{what} is in 'Lora hashes' but not in the prompt: its multiplier is not recorded")
    te = _weight(1.0 if entry.get("weight") is None else entry["weight"], what, problems)
    unet = _weight(entry["weight_unet"], what, problems) if "weight_unet" in entry else te
    for arg in entry.get("args", []):
        key, _, value = arg.partition("=")
        if key.strip() == "te":
            te = _weight(value, what, problems)
        elif key.strip() == "unet":
            unet = _weight(value, what, problems)
        else:
            problems.append(f"{what}: argument {arg[:40]!r} cannot be expressed")
    h = _hex(entry["hash"], what, problems) if entry.get("hash") else b""
    return Resource("lora", name=name, tensors_sha256=h, weight=unet, te_weight=te)


def _vae(name: str, extra: dict, problems: list[str], notes: list[str]) -> Resource:
    suffix = PurePath(name).suffix.lower()
    stem = name[: -len(suffix)] if suffix in SAFE_SUFFIXES + PICKLE_SUFFIXES else name
    if suffix in PICKLE_SUFFIXES:
        # its hash is of a pickle file, which no regenerator loads: found by name, as a safetensors copy
        notes.append(f"VAE {name!r} was a {suffix} file: recorded by name only (supply it as {stem}.safetensors)")
        return Resource("vae", name=stem)
    h = _hex(extra["VAE hash"], f"VAE {name!r}", problems) if extra.get("VAE hash") else b""
    return Resource("vae", name=stem, sha256=h)


def a1111_resources(gen) -> tuple[list[Resource], list[str], list[str]]:
    """(resources, problems, notes) of an A1111-infotext generation; no resources when it names none."""
    problems: list[str] = []
    notes: list[str] = []
    out = [_lora(e, problems) for e in gen.loras]
    ti = gen.extra.get("TI hashes")
    if isinstance(ti, str):
        from .a1111 import parse_hash_list
        out += [Resource("embedding", name=n, sha256=_hex(h, f"embedding {n!r}", problems)) for n, h in parse_hash_list(ti).items()]
    if gen.vae:
        out.append(_vae(gen.vae, gen.extra, problems, notes))
    if len(out) > MAX_RESOURCES:
        problems.append(f"{len(out)} LoRAs, embeddings and VAE: a file names at most {MAX_RESOURCES}")
    return out, problems, notes
