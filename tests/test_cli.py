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


# ------------------------------------------------------------------ outputs: no overwrite of inputs, --force, umask

def test_atomic_write_honours_umask(tmp_path):
    import os

    from aigif.fsutil import atomic_write
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.bin", b"x")
        os.umask(0o077)
        atomic_write(tmp_path / "b.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.bin").stat().st_mode & 0o777 == 0o600


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    import os

    from aigif.fsutil import atomic_write
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")
    os.chmod(p, 0o640)
    atomic_write(p, b"new")
    assert p.read_bytes() == b"new" and p.stat().st_mode & 0o777 == 0o640


def test_pack_refuses_to_overwrite_without_force(good, tmp_path):
    fields = run("aigif.cli.main", "info", str(good)).stdout
    out = tmp_path / "out.aigif"
    out.write_bytes(b"keep me")
    r = run("aigif.cli.main", "pack", "-", "-o", str(out), stdin=fields)
    assert r.returncode == 2 and "E_USAGE" in r.stderr and "--force" in r.stderr and str(out) in r.stderr
    assert out.read_bytes() == b"keep me"
    r = run("aigif.cli.main", "pack", "-", "-o", str(out), "--force", stdin=fields)
    assert r.returncode == 0 and out.read_bytes() == good.read_bytes()


def test_pack_refuses_to_write_over_its_input(tmp_path, good):
    src = tmp_path / "fields.json"
    src.write_text(run("aigif.cli.main", "info", str(good)).stdout)
    before = src.read_bytes()
    r = run("aigif.cli.main", "pack", str(src), "-o", str(src), "--force")
    assert r.returncode == 2 and "is an input" in r.stderr and src.read_bytes() == before


def test_decode_refuses_to_write_over_its_input(good):
    before = good.read_bytes()
    r = run("aigif.cli.main", "decode", str(good), "-o", str(good), "--force")
    assert r.returncode == 2 and "E_USAGE" in r.stderr and "is an input" in r.stderr
    assert "Traceback" not in r.stderr and good.read_bytes() == before


@pytest.mark.parametrize("name", ["out.aigif", "img.jpg"])
def test_decode_names_the_right_extension(good, tmp_path, name):
    r = run("aigif.cli.main", "decode", str(good), "-o", str(tmp_path / name))
    assert r.returncode == 2 and "*.png" in r.stderr and not (tmp_path / name).exists()


def test_decode_refuses_an_existing_output(good, tmp_path):
    out = tmp_path / "x.png"
    out.write_bytes(b"keep me")
    r = run("aigif.cli.main", "decode", str(good), "-o", str(out))
    assert r.returncode == 2 and "exists" in r.stderr and "--force" in r.stderr and out.read_bytes() == b"keep me"


def test_decode_help_states_the_exit_status():
    r = run("aigif.cli.main", "decode", "--help")
    assert r.returncode == 0 and "does not match its digest" in " ".join(r.stdout.split())


def test_encode_refuses_an_existing_output(tmp_path):
    out = tmp_path / "x.aigif"
    out.write_bytes(b"keep me")
    r = run("aigif.cli.main", "encode", "--model", "tiny-sd1", "-o", str(out))
    assert r.returncode == 2 and "--force" in r.stderr and out.read_bytes() == b"keep me"


def test_convert_output_directory_named_aigif_is_refused(tmp_path):
    src = tmp_path / "in.png"
    src.write_bytes(b"\x89PNG\r\n\x1a\n")
    r = run("aigif.cli.main", "convert", str(src), "-o", str(tmp_path / "x.aigif"))
    assert r.returncode == 2 and "DIRECTORY" in r.stderr and not (tmp_path / "x.aigif").exists()
    (tmp_path / "file").write_text("")
    r = run("aigif.cli.main", "convert", str(src), "-o", str(tmp_path / "file"))
    assert r.returncode == 2 and "is a file" in r.stderr


def test_convert_does_not_replace_an_invalid_existing_output(tmp_path):
    from pathlib import Path
    src = Path(__file__).parent / "data" / "realworld" / "sd-parsers" / "parsers" / "AUTOMATIC1111"
    png = next(p for p in sorted(src.iterdir()) if p.suffix == ".png")
    out = tmp_path / "out"
    out.mkdir()
    dest = out / (png.stem + ".aigif")
    dest.write_bytes(b"not an aigif")
    r = run("aigif.cli.main", "convert", str(png), "-o", str(out), "--json")
    assert r.returncode == 1 and dest.read_bytes() == b"not an aigif"
    assert "--force" in json.loads(r.stdout.splitlines()[0])["error"]["message"]
    r = run("aigif.cli.main", "convert", str(png), "-o", str(out), "--force")
    assert r.returncode == 0 and dest.read_bytes()[:3] != b"not"


# ------------------------------------------------------------------ errors and discoverability

def test_validate_into_a_closed_pipe_has_no_traceback(good):
    import os
    rd, wr = os.pipe()
    os.close(rd)  # the reader (`| head`) has already left
    try:
        r = subprocess.run([sys.executable, "-m", "aigif.cli.validate", str(good)], stdout=wr, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    finally:
        os.close(wr)
    assert "Traceback" not in r.stderr and "BrokenPipeError" not in r.stderr, r.stderr


def test_info_into_a_closed_pipe_has_no_traceback(good):
    import os
    rd, wr = os.pipe()
    os.close(rd)
    try:
        r = subprocess.run([sys.executable, "-m", "aigif.cli.main", "info", str(good)], stdout=wr, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    finally:
        os.close(wr)
    assert "Traceback" not in r.stderr and "BrokenPipeError" not in r.stderr, r.stderr


@pytest.mark.parametrize("module,prog", [("aigif.cli.main", "aigif"), ("aigif.cli.validate", "aigif-validate"),
                                         ("aigif.cli.conformance", "aigif-conformance")])
def test_version(module, prog):
    import aigif
    r = run(module, "--version")
    assert r.returncode == 0 and r.stdout.strip() == f"{prog} {aigif.__version__}"


def test_encode_unknown_field_lists_the_fields(tmp_path):
    r = run("aigif.cli.main", "encode", "--model", "tiny-sd1", "-o", str(tmp_path / "x.aigif"), "--field", "step=4")
    assert r.returncode == 2 and "'steps'" in r.stderr and "did you mean" in r.stderr
    assert "clip_skip" in r.stderr and "unexpected" not in r.stderr and "Traceback" not in r.stderr


def test_encode_unknown_scheduler_did_you_mean(tmp_path):
    r = run("aigif.cli.main", "encode", "--model", "tiny-sd1", "-o", str(tmp_path / "x.aigif"), "--scheduler", "eulr-a")
    assert r.returncode == 2 and "did you mean" in r.stderr and "'euler-a'" in r.stderr
    assert not (tmp_path / "x.aigif").exists()


def test_encode_unknown_model_did_you_mean(tmp_path):
    r = run("aigif.cli.main", "encode", "--model", "tiny-sd", "-o", str(tmp_path / "x.aigif"))
    assert r.returncode == 2 and "'tiny-sd1'" in r.stderr


def test_scheduler_tool_names_resolve():
    from aigif.cli.encode import resolve_scheduler
    from aigif.registry import load
    reg = load()
    assert resolve_scheduler("ddim", reg) == "ddim"
    assert resolve_scheduler("Euler a", reg) == "k-euler-a"           # A1111
    assert resolve_scheduler("euler_ancestral", reg) == "k-euler-a"   # ComfyUI
    assert resolve_scheduler("DPM++ 2M Karras", reg) == "k-dpmpp-2m-karras"


def test_help_shows_defaults():
    r = run("aigif.cli.main", "encode", "--help")
    text = " ".join(r.stdout.split())
    assert r.returncode == 0 and "(default: float32)" in text and "(default: 0)" in text


@pytest.mark.parametrize("what", ["models", "schedulers", "devices", "dtypes", "noise-sources", "text-coders", "extensions"])
def test_list(what):
    from aigif.cli.list_cmd import rows
    r = run("aigif.cli.main", "list", what)
    assert r.returncode == 0
    keys = [line.split()[0] for line in r.stdout.splitlines()]
    assert keys == [k for k, _ in rows(what)] and keys


def test_list_schedulers_shows_names():
    r = run("aigif.cli.main", "list", "schedulers")
    assert any(line.split()[0] == "ddim" and "DDIM" in line for line in r.stdout.splitlines())


def test_device_that_torch_cannot_use_is_a_typed_error(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    r = run("aigif.cli.main", "encode", "--model", "tiny-sd1", "-o", str(tmp_path / "x.aigif"), "--device", "cuda")
    assert r.returncode == 2 and "--device cuda" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_directories_are_walked(good, tmp_path):
    sub = tmp_path / "d" / "sub"
    sub.mkdir(parents=True)
    (sub / "b.aigif").write_bytes(good.read_bytes())
    (tmp_path / "d" / "a.aigif").write_bytes(good.read_bytes())
    (tmp_path / "d" / "note.txt").write_text("not an aigif")
    r = run("aigif.cli.validate", str(tmp_path / "d"))
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[0].startswith(str(tmp_path / "d" / "a.aigif")) and "2 valid, 0 invalid" in r.stdout
    r = run("aigif.cli.main", "info", str(tmp_path / "d"))
    assert r.returncode == 0 and sorted(json.loads(r.stdout)) == [str(tmp_path / "d" / "a.aigif"), str(sub / "b.aigif")]
    r = run("aigif.cli.main", "export", str(tmp_path / "d"))
    assert r.returncode == 0 and r.stdout.count("== ") == 2 and "Seed: 829557441" in r.stdout
    r = run("aigif.cli.validate", str(tmp_path / "d" / "sub" / "..") + "/nothing-here")
    assert r.returncode == 1
    (tmp_path / "empty").mkdir()
    r = run("aigif.cli.validate", str(tmp_path / "empty"))
    assert r.returncode == 2 and "no .aigif" in r.stderr


def test_encode_png_option_wants_a_png_name(tmp_path):
    r = run("aigif.cli.main", "encode", "--model", "tiny-sd1", "-o", str(tmp_path / "x.aigif"), "--png", str(tmp_path / "x.jpg"))
    assert r.returncode == 2 and "*.png" in r.stderr and not (tmp_path / "x.aigif").exists()
    r = run("aigif.cli.main", "encode", "--model", "tiny-sd1", "-o", str(tmp_path / "x.png"), "--png", str(tmp_path / "x.png"))
    assert r.returncode == 2 and "both name" in r.stderr and not (tmp_path / "x.png").exists()


def test_encode_refuses_more_cpu_threads_than_its_digest_can_promise(tmp_path):
    """More CPU threads change the image and a file does not record them: a digest made so would
    be a promise no decoder keeps (SPEC.md §12.4)."""
    out = tmp_path / "t.aigif"
    r = run("aigif.cli.main", "encode", "--model", "tiny-sd1", "-o", str(out), "--threads", "2")
    assert r.returncode == 2 and "--threads 2" in r.stderr and "Traceback" not in r.stderr and not out.exists()


def test_use_payload_on_a_file_without_one_says_so(tmp_path):
    p = tmp_path / "x.aigif"
    p.write_bytes(codec.write(jsonform.new("tiny-sd1", height=64, width=64, seed=1, fields={"steps": 2})))
    r = run("aigif.cli.main", "decode", str(p), "-o", str(tmp_path / "x.png"), "--use-payload")
    assert r.returncode == 0 and "has no pixel payload; regenerating it" in r.stderr and (tmp_path / "x.png").exists()


def test_the_fidelity_line_is_printed_once_per_batch_and_names_only_what_applies(tmp_path):
    for seed in (1, 2):
        (tmp_path / f"s{seed}.aigif").write_bytes(codec.write(jsonform.new("tiny-sd1", height=64, width=64, seed=seed,
                                                                             fields={"steps": 2})))
    r = run("aigif.cli.main", "decode", str(tmp_path / "s1.aigif"), str(tmp_path / "s2.aigif"), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("expected fidelity") == 1  # the same for both files: said once
    line = next(ln for ln in r.stderr.splitlines() if "expected fidelity" in ln)
    assert "GPU" not in line and "CUDA" not in line  # a CPU file
