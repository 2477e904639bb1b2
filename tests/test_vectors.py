"""The conformance vectors (SPEC.md §13.2): reproducible from ``python -m tools.vectors``,
listed in a manifest that matches its schema and its files, each vector's own
files matching theirs, covering every registry entry a decoder can meet and
every parse error code of SPEC.md §10; the committed tolerances are what the
tolerance policy makes of the committed measurements.

Run from the repository root (``python -m pytest``): ``tools`` is imported from there."""
import json
import zlib

import pytest
from jsonschema import Draft202012Validator

from aigif import codec, container, jsonform
from aigif.errors import PARSE_CODES
from aigif.registry import load
from conftest import ROOT

VECTORS = ROOT / "vectors"
REG = load()
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
SCHEMA = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
BY_CLASS = {c: [v for v in MANIFEST["vectors"] if v["class"] == c] for c in ("parse", "reject", "noise", "regen", "diffc")}

# A registered feature a parser reports only when asked to use it (decode a
# non-PNG pixel payload): no file makes a class-P decoder report it, so no
# reject vector can expect it (SPEC.md §10, §6.3).
CODES_WITHOUT_REJECT_VECTOR = {"E_UNSUPPORTED"}


def expected(v) -> dict:
    return json.loads((VECTORS / v["files"]["expected"]["path"]).read_text(encoding="utf-8"))


def meta(v) -> dict:
    return json.loads((VECTORS / v["files"]["meta"]["path"]).read_text(encoding="utf-8"))


def data(v) -> bytes:
    return (VECTORS / v["files"]["input"]["path"]).read_bytes()


def test_vectors_are_reproducible(tmp_path):
    from tools import vectors
    built_with = {expected(v)["generator"].get("torch") for v in BY_CLASS["noise"] if expected(v)["source"] == "torch-cpu"}
    try:
        import torch
        here = torch.__version__.split("+")[0]
    except ImportError:
        here = None
    if built_with and here not in built_with:
        pytest.skip(f"the torch-cpu noise vectors were built with torch {built_with}; this machine has {here}")
    vectors.build(tmp_path, committed=VECTORS)
    diffs = vectors.compare_dirs(tmp_path, VECTORS)
    assert not diffs, f"committed vectors differ from the builder's output (run python -m tools.vectors): {diffs[:10]}"


def test_manifest_matches_its_schema():
    Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(Draft202012Validator(SCHEMA).iter_errors(MANIFEST), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


@pytest.mark.parametrize("cls,role,shape", [("reject", "expected", "reject_expected"), ("noise", "expected", "noise_expected"),
                                            ("regen", "meta", "regen_meta")])
def test_vector_files_match_their_schema(cls, role, shape):
    """Each vector's own JSON is where what it expects lives: its shape is in the manifest schema's $defs."""
    check = Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{shape}"})
    for v in BY_CLASS[cls]:
        doc = json.loads((VECTORS / v["files"][role]["path"]).read_text(encoding="utf-8"))
        errors = list(check.iter_errors(doc))
        assert not errors, (v["id"], [f"{list(e.path)}: {e.message}" for e in errors[:3]])


def test_manifest_sha256_match_files():
    from aigif.conformance import load_suite, verify
    suite = load_suite(VECTORS)
    assert len(suite.vectors) == len(MANIFEST["vectors"])
    assert verify(suite.vectors) == []
    listed = {f["path"] for v in MANIFEST["vectors"] for f in v["files"].values()}
    on_disk = {f"{c}/{p.name}" for c in BY_CLASS for p in (VECTORS / c).iterdir()}
    assert on_disk == listed, f"files not in the manifest: {sorted(on_disk - listed)[:5]}"


def test_manifest_registry_is_current():
    from tools.vectors.manifest import registry_files, registry_sha256, registry_version
    files = registry_files()
    assert MANIFEST["registry"]["files"] == files, "the registry changed since the vectors were built: run python -m tools.vectors"
    assert MANIFEST["registry"]["sha256"] == registry_sha256(files)
    assert MANIFEST["registry"]["version"] == registry_version()


def test_a_vector_the_reference_disagrees_with_stops_the_build():
    """No vector is left out quietly: one the reference disagrees with is a build error."""
    from tools.vectors.common import BuildError, Vectors
    from tools.vectors.parse_cases import add_parse
    from tools.vectors.reject_cases import add_reject
    vs = Vectors()
    with pytest.raises(BuildError, match="the reference says E_MAGIC"):
        add_reject(vs, "empty", b"", "E_TRUNCATED", "an empty file", "§4.1")
    with pytest.raises(BuildError, match="the reference rejects it"):
        add_parse(vs, "empty", b"", "an empty file")
    assert vs.vectors == []


def test_ids_are_unique_and_name_their_files():
    ids = [v["id"] for v in MANIFEST["vectors"]]
    assert len(ids) == len(set(ids))
    for v in MANIFEST["vectors"]:
        name = v["id"].split("/", 1)[1]
        for f in v["files"].values():
            assert f["path"].startswith(f"{v['class']}/{name}.")
    assert {c: len(vs) for c, vs in BY_CLASS.items()} == {c: m["count"] for c, m in MANIFEST["classes"].items()}


# ---------------------------------------------------------------- coverage
def covered_entries() -> dict[str, set]:
    """table -> keys used by at least one vector, computed from the expected outputs."""
    cov = {t: set() for t in ("models", "schedulers", "devices", "gpus", "cuda_versions", "dtypes", "noise_sources",
                              "text_coders", "pixel_codecs", "model_compressors", "extensions")}
    for v in BY_CLASS["parse"] + BY_CLASS["regen"]:
        e = expected(v) if v["class"] == "parse" else jsonform.to_json(codec.read(data(v), REG), REG)
        cov["models"].add(e["model"])
        cov["devices"].add(e["device"])
        cov["dtypes"].add(e["dtype"])
        cov["noise_sources"].add(e["noise"])
        cov["text_coders"].add(e["text_coder"])
        cov["schedulers"].add(e["fields"].get("scheduler"))
        cov["gpus"].add(e["platform"].get("gpu"))
        cov["cuda_versions"].add(e["platform"].get("cuda"))
        cov["extensions"] |= {x["key"] for x in e["extensions"] if "key" in x}
        if e["pixels"]:
            cov["pixel_codecs"].add(e["pixels"]["codec"])
        if e["model_payload"]:
            cov["model_compressors"].add(e["model_payload"]["compressor"])
    return cov


def test_every_registry_entry_is_covered():
    cov = covered_entries()
    missing = []
    for t, keys in cov.items():
        entries = REG.extensions.entries if t == "extensions" else REG.table(t).entries
        for e in entries:
            if e["key"] not in keys:
                missing.append(f"{t}:{e['key']}")
    assert not missing, f"registry entries no vector uses (SPEC.md §8.4): {missing}"


def test_unknown_ignorable_extensions_are_covered():
    unknown = [x["tag"] for v in BY_CLASS["parse"] for x in expected(v)["extensions"] if "key" not in x]
    assert any(t in range(64, 128) for t in unknown), "a private tag"
    assert any(t >= 128 for t in unknown), "a multi-byte tag"
    assert all(t % 2 == 0 for t in unknown)


def test_noise_vectors_cover_every_cpu_source():
    noise = pytest.importorskip("aigif.noise")
    sources = {expected(v)["source"] for v in BY_CLASS["noise"]}
    assert set(noise.CPU_KEYS) <= sources
    seeds = {expected(v)["seed"] for v in BY_CLASS["noise"]}
    assert {0, 2**32 + 5, 2**64 - 1} <= seeds


def test_family_fields_at_min_and_max_and_sizes():
    seen = {}
    for v in BY_CLASS["parse"]:
        e = expected(v)
        fam = REG.family_of(e["model"]).key
        for k, val in e["fields"].items():
            seen.setdefault((fam, k), set()).add(val)
        seen.setdefault((fam, "height"), set()).add(e["height"])
        seen.setdefault((fam, "width"), set()).add(e["width"])
    for key, fam in REG.families.items():
        for f in fam.fields:
            if f.type in ("uint", "dec"):
                assert {f.min, f.max} <= seen[(key, f.name)], f"{key}.{f.name} at min and max"
        g = fam.size_multiple
        for side in ("height", "width"):
            assert {g, 16384} <= seen[(key, side)], f"{key} {side} at {g} and 16384"


def test_seed_and_limit_boundaries():
    seeds = {expected(v)["seed"] for v in BY_CLASS["parse"]}
    assert {0, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1} <= seeds
    digests = {len(expected(v)["digest"]) // 2 for v in BY_CLASS["parse"] if expected(v)["digest"]}
    assert digests == {8, 16, 32}
    assert max(len(expected(v)["extensions"]) for v in BY_CLASS["parse"]) == 32
    framed = max(len(codec.text.framing.frame(codec.strings_of(REG, codec.read(data(v), REG)))) for v in BY_CLASS["parse"])
    assert framed == 65536


# ---------------------------------------------------------------- error codes
def test_every_parse_error_code_has_a_reject_vector():
    codes = {expected(v)["error"] for v in BY_CLASS["reject"]}
    assert codes <= set(PARSE_CODES)
    assert set(PARSE_CODES) - CODES_WITHOUT_REJECT_VECTOR <= codes, sorted(set(PARSE_CODES) - codes)


def test_reject_vectors_have_one_fault():
    """Every reject vector that passes the container checks before the CRC
    has a correct CRC unless its fault is the CRC: a decoder that ignores the
    CRC fails exactly the E_CHECKSUM vectors (tests/test_conformance_runner.py)."""
    for v in BY_CLASS["reject"]:
        b = data(v)
        fixed = b[:-4] + zlib.crc32(b[:-4]).to_bytes(4, "little") if len(b) >= 4 else b
        try:
            container.read_container(fixed)
        except Exception:
            continue  # the fault is before the CRC (magic, version, length, size)
        crc_ok = fixed == b
        assert crc_ok == (expected(v)["error"] != "E_CHECKSUM"), v["id"]


# ---------------------------------------------------------------- the vectors against the reference, directly
def test_parse_vectors_read_as_expected_and_are_canonical():
    for v in BY_CLASS["parse"]:
        b = data(v)
        f = codec.read(b, REG)
        assert codec.write(f, REG) == b, v["id"]
        assert json.loads(json.dumps(jsonform.to_json(f, REG))) == expected(v), v["id"]


def test_reject_vectors_fail_with_their_code():
    for v in BY_CLASS["reject"]:
        err = codec.validate(data(v), REG)
        assert err is not None and err.code == expected(v)["error"], (v["id"], err)


def test_tolerances_come_from_measurements(tmp_path):
    """python -m tools.vectors --tolerances-from: the lowest PSNR of a class less the margin,
    capped; a refined class counts for its parent; a class too far apart to tell rounding
    from a changed field gets no tolerance; cpu:reference is bit-exact only when identical."""
    from tools.vectors import tolerances as t

    def run(cls, psnrs):
        p = tmp_path / f"{cls.replace(':', '_')}-{len(list(tmp_path.iterdir()))}.json"
        p.write_text(json.dumps({"device_class": cls, "platform": cls, "results": [
            {"id": f"regen/{n}", "class": "regen", "ok": True, "detail": {"psnr": v}} for n, v in psnrs.items()]}))
        return p

    doc = t.tolerances_from([
        run("cpu:reference", {"a": "inf", "half": "inf", "drift": 80.0}),
        run("cpu", {"a": 46.4, "half": 4.2, "drift": 70.0}),
        run("cuda", {"a": "inf", "half": 6.0, "drift": 60.0}),
    ], reference_platform={"class": "cpu:reference"})
    assert doc["reference_platform"] == {"class": "cpu:reference"}
    v = doc["vectors"]
    assert v["a"]["cpu"]["psnr_min"] == 43 and v["a"]["cpu"]["measured"]["runs"] == 2
    assert v["a"]["cuda"]["psnr_min"] == t.TOLERANCE_CAP_DB
    assert v["a"]["cpu:reference"] == "bit-exact" and v["half"]["cpu:reference"] == "bit-exact"
    assert "cpu:reference" not in v["drift"] and v["drift"]["cpu"]["psnr_min"] == t.TOLERANCE_CAP_DB
    assert set(v["half"]) == {"cpu:reference"}
    assert doc["unreproducible"]["half"]["cpu"]["min_psnr"] == 4.2
    assert doc["unreproducible"]["half"]["cuda"]["min_psnr"] == 6.0


def test_committed_tolerances_are_the_policy_applied_to_the_committed_measurements():
    """conformance/tolerances/: regen-tolerances.json is what --tolerances-from makes of the
    measurements-*.json beside it, and every regen vector states its tolerance from there."""
    from tools.vectors import tolerances as t
    files = t.measurement_files()
    assert files, "no measurements in conformance/tolerances/"
    assert t.dumps_tolerances(t.tolerances_from(files)) == t.TOLERANCES_FILE.read_text(), \
        "regen-tolerances.json is not derived from the measurements: run python -m tools.vectors --tolerances-from"
    committed = t.load_tolerances()
    for v in BY_CLASS["regen"]:
        assert meta(v)["tolerance"] == committed["vectors"][v["id"].split("/", 1)[1]], v["id"]
