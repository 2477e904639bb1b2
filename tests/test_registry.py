"""SPEC.md §8: every registry table validates against its JSON Schema, IDs and
keys are unique, and the cross-table references resolve."""
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry as SchemaRegistry
from referencing import Resource

from aigif.registry import MAX_ID, load

ROOT = Path(__file__).resolve().parents[1] / "registry"
INDEX = json.loads((ROOT / "registry.json").read_text())
FILES = sorted(ROOT / f"{t}.json" for t in INDEX["tables"])


def schema_registry():
    reg = SchemaRegistry()
    for p in (ROOT / "schema").glob("*.json"):
        d = json.loads(p.read_text())
        reg = reg.with_resource(d["$id"], Resource.from_contents(d))
    return reg


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_table_matches_schema(path):
    doc = json.loads(path.read_text())
    schema = json.loads((ROOT / "schema" / f"{doc['table']}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    errors = sorted(Draft202012Validator(schema, registry=schema_registry()).iter_errors(doc), key=str)
    assert not errors, [e.message for e in errors[:5]]


def test_the_index_lists_every_table_and_has_a_version():
    schema = json.loads((ROOT / "schema" / "registry.schema.json").read_text())
    assert not list(Draft202012Validator(schema).iter_errors(INDEX))
    assert {p.stem for p in ROOT.glob("*.json")} == set(INDEX["tables"]) | {"registry"}
    assert {p.name.removesuffix(".schema.json") for p in (ROOT / "schema").glob("*.schema.json")} >= set(INDEX["tables"])
    assert load().version == INDEX["version"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_ids_and_keys_unique(path):
    entries = json.loads(path.read_text())["entries"]
    ids = [e.get("id", e.get("tag")) for e in entries if "id" in e or "tag" in e]
    keys = [e["key"] for e in entries]
    assert len(ids) == len(set(ids)) and len(keys) == len(set(keys))


def test_ids_are_dense_and_small():
    # IDs are assigned in order (SPEC.md §8.4): no gaps, so the common entries stay 1 unit.
    reg = load()
    for t in reg.table_names:
        ids = sorted(reg.table(t).by_id)
        assert ids == list(range(len(ids))), t
        assert ids[-1] <= MAX_ID.get(reg.coded_as(t), ids[-1]), t


def test_cross_references():
    reg = load()
    scheds = reg.table("schedulers")
    for m in reg.table("models").entries:
        assert m["family"] in reg.families
        assert m["default_scheduler"] in scheds, m["key"]
        fam = reg.families[m["family"]]
        kind = scheds.by_key[m["default_scheduler"]]["kind"]
        assert kind in ("any", fam.raw["scheduler_kind"]), m["key"]
    for fam in reg.families.values():
        for f in fam.fields:
            if f.type == "ref":
                assert f.table in reg.tables
                assert f.default in reg.table(f.table), (fam.key, f.name)
    for e in reg.extensions.entries:
        assert not (reg.private_tags[0] <= e["tag"] <= reg.private_tags[1])


def test_every_family_has_an_unregistered_model():
    reg = load()
    unreg = {m["family"] for m in reg.table("models").entries if m.get("unregistered")}
    assert unreg == set(reg.families)


def test_scheduler_classes_exist_in_diffusers():
    diffusers = pytest.importorskip("diffusers")
    for s in load().table("schedulers").entries:
        if s["class"]:
            cls = getattr(diffusers, s["class"])
            if "dummy" in cls.__module__:  # an optional dependency is missing: the entry must say so
                assert s.get("requires"), s["key"]
                continue
            # every config override must be a real config key of that class
            import inspect
            params = inspect.signature(inspect.unwrap(cls.__init__)).parameters
            assert set(s["config"]) <= set(params), (s["key"], set(s["config"]) - set(params))


def test_family_pipelines_exist_in_diffusers():
    diffusers = pytest.importorskip("diffusers")
    for fam in load().families.values():
        assert hasattr(diffusers, fam.raw["pipeline"]), fam.raw["pipeline"]
        for cls in fam.raw["components"].values():
            if cls != "*" and not cls.startswith(("CLIP", "T5", "Gemma")):
                assert hasattr(diffusers, cls), cls


def test_prompt_coder_model_is_the_registered_one():
    import hashlib

    from aigif.text import prompt
    entry = load().table("text_coders").by_key["prompt"]
    data = (ROOT / "prompt_model.bin").read_bytes()  # spec data beside the registry (SPEC.md Appendix E)
    assert Path(prompt.MODEL_PATH).resolve() == (ROOT / "prompt_model.bin").resolve()
    assert entry["model_sha256"] == hashlib.sha256(data).hexdigest()
