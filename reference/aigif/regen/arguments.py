"""From a file's fields to the pipeline call (SPEC.md §12.3), table-driven:
each family field's ``arg`` in the registry names the pipeline argument."""
from __future__ import annotations

from ..file import AigifFile
from ..registry import Registry


def pipeline_kwargs(f: AigifFile, reg: Registry) -> dict:
    entry = reg.table("models").by_key[f.model]
    kw = dict(entry.get("pipeline_defaults", {}))
    kw.update(prompt=f.prompt, negative_prompt=f.negative_prompt, height=f.height, width=f.width)
    for fld in reg.family_of(f.model).fields:
        if not fld.arg or fld.arg == "scheduler":
            continue
        v = f.fields[fld.name]
        if fld.type == "str" and v == "":
            v = None  # empty optional strings mean "not given"
        if fld.name == "clip_skip" and v == 0:
            v = None
        kw[fld.arg] = v
    return kw
