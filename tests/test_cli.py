"""The command-line contract: aigif-validate exit codes and JSON, info/pack
inverse, no tracebacks, and a light start (no torch)."""
import json
import subprocess
import sys
import zlib

import pytest

from aigif import codec, jsonform

PAPER = dict(height=1024, width=1024, seed=829557441, prompt="A cute cat", negative_prompt="worst quality",
             fields={"scheduler": "ddim", "steps": 50, "guidance": 7.5}, device="cuda",
             platform={"gpu": "gtx-1080-ti", "cuda": "cu121"}, dtype="float16", noise="torch-cuda")


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, input=stdin, timeout=60)


@pytest.fixture
def good(tmp_path):
    p = tmp_path / "paper.aigif"
    p.write_bytes(codec.write(jsonform.new("sd-1.5", **PAPER)))
    return p


def test_validate_valid(good):
    r = run("aigif.cli.validate", str(good))
    assert r.returncode == 0 and "valid" in r.stdout


def bad_files(good, tmp_path):
    data = good.read_bytes()
    def recrc(b):
        return b[:-4] + zlib.crc32(b[:-4]).to_bytes(4, "little")
    cases = {
        "truncated": (data[:30], "E_TRUNCATED"),
        "magic": (b"PNG" + data[3:], "E_MAGIC"),
        "version": (data[:3] + b"\x07" + data[4:], "E_VERSION"),
        "checksum": (data[:-1] + bytes([data[-1] ^ 0xFF]), "E_CHECKSUM"),
    }
    out = {}
    for name, (b, code) in cases.items():
        p = tmp_path / f"{name}.aigif"
        p.write_bytes(b)
        out[name] = (p, code)
    return out


def test_validate_reports_each_error_code(good, tmp_path):
    for name, (p, code) in bad_files(good, tmp_path).items():
        r = run("aigif.cli.validate", "--json", str(p))
        assert r.returncode == 1, name
        rep = json.loads(r.stdout)
        assert rep["valid"] is False and rep["error"]["code"] == code, name
        assert "Traceback" not in r.stderr


def test_validate_mixed_batch_exit_1(good, tmp_path):
    bad = bad_files(good, tmp_path)["checksum"][0]
    r = run("aigif.cli.validate", str(good), str(bad), str(tmp_path / "missing.aigif"))
    assert r.returncode == 1
    assert "1 valid, 2 invalid" in r.stdout and "E_IO" in r.stdout


def test_validate_usage_exit_2():
    assert run("aigif.cli.validate").returncode == 2


def test_info_pack_inverse(good, tmp_path):
    r = run("aigif.cli.main", "info", str(good))
    assert r.returncode == 0
    fields = json.loads(r.stdout)
    assert fields["guidance" if False else "fields"]["guidance"] == 7.5 and fields["seed"] == 829557441
    out = tmp_path / "packed.aigif"
    r = run("aigif.cli.main", "pack", "-", "-o", str(out), stdin=json.dumps(fields))
    assert r.returncode == 0 and out.read_bytes() == good.read_bytes()


def test_info_json_matches_schema(good):
    from pathlib import Path

    from jsonschema import Draft202012Validator
    schema = json.loads((Path(__file__).resolve().parents[1] / "schemas" / "info.schema.json").read_text())
    r = run("aigif.cli.main", "info", str(good))
    assert not list(Draft202012Validator(schema).iter_errors(json.loads(r.stdout)))


def test_info_bits(good):
    r = run("aigif.cli.main", "info", "--bits", str(good))
    assert r.returncode == 0
    assert "fields.guidance" in r.stdout and "001000000010010110" in r.stdout  # SPEC.md §3.6 example


def test_pack_bad_json_is_typed(tmp_path):
    r = run("aigif.cli.main", "pack", "-", "-o", str(tmp_path / "x.aigif"), stdin="{not json")
    assert r.returncode == 1 and "E_FIELDS" in r.stderr and "Traceback" not in r.stderr
    r = run("aigif.cli.main", "pack", "-", "-o", str(tmp_path / "x.aigif"), stdin='{"model": "sd-1.5", "height": 7, "width": 8, "seed": 1}')
    assert r.returncode == 1 and "E_RANGE" in r.stderr
    assert not (tmp_path / "x.aigif").exists()


def test_validator_does_not_import_torch(good):
    code = (f"import sys; from aigif.cli.validate import main; main([{str(good)!r}]); "
            "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules, 'heavy import'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
