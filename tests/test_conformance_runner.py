"""The conformance runner proves itself (conformance/CONTRACT.md): the reference
decoder passes every vector; deliberately broken decoders fail exactly the
vectors that should catch them; the runner's judging (JSON equality with
SPEC.md §17 numbers, error codes, noise bits, PSNR), timeouts, crashes,
"cannot here" skips, "unsupported" pixel codecs, selection, the progress line
and results file behave as documented.

Most runs call the decoder in this process (the runner's logic is the same);
a representative subset runs through real subprocesses and the CLI."""
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from aigif import codec, jsonform
from aigif.conformance import CommandDecoder, InProcessDecoder, Options, compare, load_suite, png, run, select
from aigif.registry import load
from conftest import ROOT

VECTORS = ROOT / "vectors"
SUITE = load_suite(VECTORS)
REG = load()
RESULTS_SCHEMA = json.loads((ROOT / "conformance" / "results.schema.json").read_text())


def vectors(*levels):
    return select(SUITE.vectors, list(levels))


def failing(report):
    return {r.id for r in report.failed}


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "aigif.cli.conformance", *args], capture_output=True, text=True, timeout=timeout)


def write_script(tmp_path, name, body):
    p = tmp_path / f"{name}.py"
    p.write_text(PRELUDE + textwrap.dedent(body) + EPILOGUE)
    return p


# Broken decoders wrap the reference (aigif.refdecoder) and get one thing wrong.
PRELUDE = textwrap.dedent('''\
    import json, sys, zlib
    from aigif.errors import AigifError
    from aigif.refdecoder import dump_fields, main as ref_main, parse_data

    def fail(err):
        print(f"{err.code}: {err.message}", file=sys.stderr)
        return 1

    def parse_with(data, post=lambda fields: fields):
        try:
            fields = parse_data(data)
        except AigifError as err:
            return fail(err)
        fields = post(fields)
        if isinstance(fields, AigifError):
            return fail(fields)
        print(dump_fields(fields))
        return 0
    ''')
EPILOGUE = textwrap.dedent('''

    if __name__ == "__main__":
        sys.exit(main(sys.argv[1:]))
    ''')

BROKEN = {
    # skips the CRC check (SPEC.md §9 step 5)
    "accepts-bad-checksum": '''
        def main(argv):
            if argv[:1] != ["parse"]:
                return ref_main(argv)
            data = open(argv[1], "rb").read()
            try:
                parse_data(data)
            except AigifError as err:
                if err.code == "E_CHECKSUM":
                    data = data[:-4] + zlib.crc32(data[:-4]).to_bytes(4, "little")
            return parse_with(data)
        ''',
    # calls a truncated file an overrun
    "wrong-truncation-code": '''
        def main(argv):
            if argv[:1] != ["parse"]:
                return ref_main(argv)
            try:
                fields = parse_data(open(argv[1], "rb").read())
            except AigifError as err:
                if err.code == "E_TRUNCATED":
                    err = AigifError("E_OVERRUN", err.message)
                return fail(err)
            print(dump_fields(fields))
            return 0
        ''',
    # never reads the negative prompt
    "drops-negative-prompt": '''
        def main(argv):
            if argv[:1] != ["parse"]:
                return ref_main(argv)
            return parse_with(open(argv[1], "rb").read(), lambda f: {**f, "negative_prompt": ""})
        ''',
    # treats every unknown extension as critical
    "rejects-unknown-ignorable-extensions": '''
        def post(fields):
            for e in fields["extensions"]:
                if "key" not in e:
                    return AigifError("E_UNKNOWN_CRITICAL_EXTENSION", f"unknown extension {e['tag']}")
            return fields

        def main(argv):
            if argv[:1] != ["parse"]:
                return ref_main(argv)
            return parse_with(open(argv[1], "rb").read(), post)
        ''',
}


def expected_failures(name):
    """The vectors each broken decoder must fail, from the vectors' own metadata."""
    out = set()
    for v in vectors("parse", "reject"):
        if v.cls == "reject":
            code = v.expected_json()["error"]
            if name == "accepts-bad-checksum" and code == "E_CHECKSUM":
                out.add(v.id)
            if name == "wrong-truncation-code" and code == "E_TRUNCATED":
                out.add(v.id)
        else:
            e = v.expected_json()
            if name == "drops-negative-prompt" and e["negative_prompt"] != "":
                out.add(v.id)
            if name == "rejects-unknown-ignorable-extensions" and any("key" not in x for x in e["extensions"]):
                out.add(v.id)
    return out


# ================================================================== the reference passes
@pytest.fixture(scope="module")
def reference_report():
    return run(InProcessDecoder.reference(), vectors("parse", "reject", "noise"), Options(), suite=SUITE)


def test_reference_decoder_passes_every_vector(reference_report):
    r = reference_report
    assert not r.failed, "\n".join(r.lines()[:20])
    # a skip is allowed only where this build cannot draw a noise source
    assert all(x.cls == "noise" and x.reason.startswith("E_NOISE_UNAVAILABLE") for x in r.skipped)
    assert r.count("pass") + r.count("skip") == len(vectors("parse", "reject", "noise"))
    assert r.lines()[-1].startswith(f"{r.count('pass')} passed, 0 failed")
    assert not list(Draft202012Validator(RESULTS_SCHEMA).iter_errors(r.to_json()))


def test_reference_decoder_as_a_command_on_a_subset(tmp_path):
    out = tmp_path / "results.json"
    only = "parse/paper-example,parse/all-sections,parse/seed-18446744073709551615,parse/dec-guidance-negative-zero," \
           "reject/checksum-crc32c,reject/truncated-within-text,reject/deflate-bomb,reject/text-none-utf8-surrogate,noise/portable-seed-4294967301-*"
    r = cli("run", "--decoder", f"{sys.executable} -m aigif.refdecoder", "--only", only, "--results", str(out), "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "9 passed, 0 failed"
    res = json.loads(out.read_text())
    assert not list(Draft202012Validator(RESULTS_SCHEMA).iter_errors(res))
    assert res["summary"] == {"passed": 9, "failed": 0, "skipped": 0, "unsupported": 0}
    assert [x["id"] for x in res["results"]] == [v.id for v in select(SUITE.vectors, None, [only])]


def test_aigif_conformance_subcommand_and_list(capsys):
    from aigif.cli.main import main
    assert main(["conformance", "list", "--level", "reject", "--only", "checksum-*"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"{len(lines) - 1} vectors" and all(" E_CHECKSUM " in x for x in lines[:-1])
    r = cli("list", "--json", "--only", "noise/*-seed-0-*")
    ids = [e["id"] for e in json.loads(r.stdout)]
    assert r.returncode == 0 and ids and all(i.startswith("noise/") for i in ids)


# ================================================================== broken decoders are caught
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_decoder_fails_exactly_the_vectors_that_catch_it(tmp_path, name):
    script = write_script(tmp_path, name, BROKEN[name])
    report = run(InProcessDecoder.from_script(script), vectors("parse", "reject"), Options(), suite=SUITE)
    want = expected_failures(name)
    assert want, f"no vector would catch {name}"
    assert failing(report) == want, (sorted(failing(report) - want)[:5], sorted(want - failing(report))[:5])
    reasons = {r.id: r.reason for r in report.failed}
    if name == "accepts-bad-checksum":
        assert reasons["reject/checksum-crc32c"] == "accepted an invalid file (expected E_CHECKSUM)"
    if name == "wrong-truncation-code":
        assert reasons["reject/truncated-before-crc"] == "reported E_OVERRUN, expected E_TRUNCATED"
    if name == "drops-negative-prompt":
        assert reasons["parse/paper-example"] == 'negative_prompt: expected "worst quality", got ""'
    if name == "rejects-unknown-ignorable-extensions":
        assert reasons["parse/extension-unknown-ignorable-64"] == "rejected a valid file: E_UNKNOWN_CRITICAL_EXTENSION"


def test_broken_decoder_as_a_command(tmp_path):
    script = write_script(tmp_path, "accepts-bad-checksum", BROKEN["accepts-bad-checksum"])
    out = tmp_path / "r.json"
    r = cli("run", "--decoder", f"{sys.executable} {script}", "--level", "reject",
            "--only", "reject/checksum-zero", "--only", "reject/magic-lowercase", "--results", str(out))
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["FAIL reject/checksum-zero: accepted an invalid file (expected E_CHECKSUM)", "1 passed, 1 failed"]
    res = {x["id"]: x for x in json.loads(out.read_text())["results"]}
    assert res["reject/checksum-zero"]["exit"] == 0 and res["reject/magic-lowercase"]["exit"] == 1


# ---- regen level: broken regenerators (run where the reference can regenerate)
BROKEN_REGEN = {
    # renders as if the negative prompt were empty
    "ignores-negative-prompt": ('''
        import os, tempfile
        from aigif import codec

        def main(argv):
            if argv[:1] != ["render"]:
                return ref_main(argv)
            from aigif.regen import render_file
            f = codec.read(open(argv[1], "rb").read())
            f.negative_prompt = ""
            for k in list(f.fields):
                if k.startswith("negative_prompt"):
                    f.fields[k] = ""
            with tempfile.TemporaryDirectory() as d:
                p = os.path.join(d, "x.aigif")
                open(p, "wb").write(codec.write(f))
                render_file(p, argv[2])
            return 0
        ''', lambda f: f.negative_prompt != ""),
    # renders with another scheduler of the same kind (one no model uses as its own)
    "wrong-scheduler": ('''
        import os, tempfile
        from aigif import codec

        def main(argv):
            if argv[:1] != ["render"]:
                return ref_main(argv)
            from aigif.regen import render_file
            f = codec.read(open(argv[1], "rb").read())
            s = f.fields.get("scheduler")
            flow = s.startswith("flow-") or f.model in ("tiny-flow",)
            f.fields["scheduler"] = ("flow-match-heun" if s != "flow-match-heun" else "flow-match-euler") if flow \\
                else ("dpm2-a-karras" if s != "dpm2-a-karras" else "ddim")
            with tempfile.TemporaryDirectory() as d:
                p = os.path.join(d, "x.aigif")
                open(p, "wb").write(codec.write(f))
                render_file(p, argv[2])
            return 0
        ''', lambda f: "scheduler" in f.fields),
}


@pytest.mark.parametrize("name", sorted(BROKEN_REGEN))
def test_broken_regenerator_fails_the_regen_vectors(tmp_path, name):
    regen = vectors("regen")
    body, catches = BROKEN_REGEN[name]
    script = write_script(tmp_path, name, body)
    report = run(InProcessDecoder.from_script(script), regen, Options(device_class="cpu"), suite=SUITE)
    ref = run(InProcessDecoder.reference(), regen, Options(device_class="cpu"), suite=SUITE)
    runnable = {r.id for r in ref.results if r.status == "pass"}
    if not runnable:
        pytest.skip("the reference cannot regenerate here: " + "; ".join(r.reason for r in ref.results[:3]))
    want = {v.id for v in regen if v.id in runnable and catches(codec.read(v.files["input"].read_bytes()))}
    assert failing(report) & runnable == want


# ================================================================== judging, unit by unit
def test_json_comparison_follows_spec_17():
    d = compare.first_difference
    assert d({"a": 1, "b": [1.5, "x"]}, {"b": [1.5, "x"], "a": 1}) is None  # member order is free
    assert d({"g": 7.0}, {"g": 7}) is None                                 # 7 parses to the binary64 7.0
    assert d({"g": 6.3}, {"g": 6.300000000000001}) == "g: expected 6.3, got 6.300000000000001"
    assert d({"g": -0.0}, {"g": 0.0}) == "g: expected -0.0, got 0.0"
    assert d({"g": -0.0}, {"g": 0}) == "g: expected -0.0, got 0"
    assert d({"seed": 2**64 - 1}, {"seed": 1.8446744073709552e19}) == "seed: expected integer 18446744073709551615, got 1.8446744073709552e+19"
    assert d({"seed": 5}, {"seed": 5.0}) == "seed: expected integer 5, got 5.0"
    assert d({"x": 1}, {"x": True}) == "x: expected number 1, got boolean true"
    assert d({"f": {"a": 1, "b": 2}}, {"f": {"a": 1}}) == "f.b: missing (expected 2)"
    assert d({"f": {"a": 1}}, {"f": {"a": 1, "z": 0}}) == "f.z: unexpected member (value 0)"
    assert d({"e": [{"tag": 2}]}, {"e": [{"tag": 4}]}) == "e[0].tag: expected integer 2, got 4"
    assert d({"e": [1]}, {"e": [1, 2]}) == "e: expected 1 elements, got 2"
    assert d({"p": None}, {"p": {}}) == "p: expected null null, got object {}"
    with pytest.raises(compare.BadJSON):
        compare.loads_strict('{"a": 1, "a": 2}')
    with pytest.raises(compare.BadJSON):
        compare.loads_strict('{"a": NaN}')
    assert compare.loads_strict('{"seed": 18446744073709551615}')["seed"] == 2**64 - 1


def test_noise_comparison():
    d = compare.noise_difference
    assert d(["3f800000", "c0000000"], ["3F800000", "c0000000"]) is None
    assert d(["3f800000", "c0000000"], ["3f800000", "c0000001"]) == "value[1]: expected c0000000 (-2.0), got c0000001 (-2.000000238418579)"
    assert d(["3f800000"], ["3f800000", "00000000"]) == "expected 1 values, got 2"
    assert d(["3f800000"], [1.0]).startswith("value[0]: 1.0 is not an 8-hex-digit")
    assert d(["3f800000"], {"v": 1}).startswith("expected a JSON array")


def test_psnr_and_png_reader():
    a = bytes(range(256)) * 3
    assert compare.psnr(a, a) == float("inf")
    b = bytes((x ^ 1) for x in a)
    assert abs(compare.psnr(a, b) - 48.1308) < 1e-3  # MSE 1: 10*log10(255^2)
    # every PNG filter type, written by hand, reads back to the same pixels
    w, h = 5, 5
    rgb = bytes((x * 31 + y * 17 + c * 7) & 0xFF for y in range(h) for x in range(w) for c in range(3))
    raw = b""
    prev = bytes(w * 3)
    for y in range(h):
        line = rgb[y * w * 3:(y + 1) * w * 3]
        ft = y % 5
        out = bytearray()
        for i, x in enumerate(line):
            left = line[i - 3] if i >= 3 else 0
            up, ul = prev[i], (prev[i - 3] if i >= 3 else 0)
            pred = [0, left, up, (left + up) >> 1, png._paeth(left, up, ul)][ft]
            out.append((x - pred) & 0xFF)
        raw += bytes([ft]) + bytes(out)
        prev = line
    assert png.read_png(png.png_from_raw(w, h, 8, 2, 0, raw)) == (w, h, rgb)
    assert png.read_png(png.write_png(w, h, rgb)) == (w, h, rgb)
    with pytest.raises(png.PNGError):
        png.read_png(png.png_from_raw(w, h, 8, 2, 1, raw))  # interlaced
    bad = bytearray(png.write_png(w, h, rgb))
    bad[40] ^= 1
    with pytest.raises(png.PNGError, match="CRC"):
        png.read_png(bytes(bad))


class Fake:
    """An in-process decoder answering every call with a fixed outcome."""

    def __init__(self, rc=0, out="", err="", png_bytes=None):
        self.rc, self.out, self.err, self.png = rc, out, err, png_bytes

    def __call__(self, argv):
        if self.png is not None and argv[0] in ("render", "decode"):
            Path(argv[2]).write_bytes(self.png)
        print(self.out, end="")
        print(self.err, end="", file=sys.stderr)
        return self.rc


def judge(fake, *ids, **opts):
    return run(InProcessDecoder(fake, "fake"), [SUITE.by_id(i) for i in ids], Options(**opts), suite=SUITE)


def test_exit_statuses_and_error_tokens():
    r = judge(Fake(1, err="E_CHECKSUM: bad"), "reject/checksum-zero", "parse/paper-example")
    assert [x.status for x in r.results] == ["pass", "fail"]
    assert r.results[1].reason == "rejected a valid file: E_CHECKSUM"
    r = judge(Fake(1, err="oops E_CHECKSUM"), "reject/checksum-zero")
    assert r.results[0].reason.startswith("exit 1 but stderr does not start with an error code")
    r = judge(Fake(2, err="Traceback (most recent call last): ..."), "reject/checksum-zero", "parse/paper-example")
    assert r.results[0].reason.startswith("exit status 2, expected 1 with E_CHECKSUM")
    assert r.results[1].reason.startswith("exit status 2 for a valid file")
    r = judge(Fake(0, out="not json"), "parse/paper-example")
    assert r.results[0].reason.startswith("stdout is not one JSON value")
    r = judge(Fake(0, out=""), "parse/paper-example")
    assert r.results[0].reason == "exit 0 but nothing on stdout"

    def crash(argv):
        raise RuntimeError("boom")
    r = run(InProcessDecoder(crash), [SUITE.by_id("parse/paper-example")], Options())
    assert r.results[0].status == "fail" and "RuntimeError: boom" in r.results[0].reason


def test_cannot_here_is_a_skip_listed_apart():
    noise_ids = [v.id for v in vectors("noise")][:2]
    r = judge(Fake(3, err="E_NOISE_UNAVAILABLE: no GPU here"), *noise_ids, "parse/paper-example")
    assert [x.status for x in r.results] == ["skip", "skip", "fail"]
    assert r.results[2].reason == "exit status 3 for a valid file: E_NOISE_UNAVAILABLE: no GPU here"
    lines = r.lines()
    assert lines[0].startswith("FAIL parse/paper-example")
    assert lines[1].startswith("skipped") and lines[2].startswith(f"  skip {noise_ids[0]}: E_NOISE_UNAVAILABLE")
    assert lines[-1] == "0 passed, 1 failed, 2 skipped"
    r = judge(Fake(3, err="E_SOMETHING"), noise_ids[0])
    assert r.results[0].status == "fail"


def test_timeout_kills_the_decoder(tmp_path):
    script = tmp_path / "sleepy.py"
    script.write_text("import time\ntime.sleep(30)\n")
    d = CommandDecoder([sys.executable, str(script)])
    r = run(d, [SUITE.by_id("parse/paper-example")], Options(timeouts={"parse": 0.5, "reject": 0.5, "noise": 0.5, "regen": 0.5}))
    assert r.results[0].reason == "timed out after 0.5 s" and r.results[0].exit is None
    assert r.results[0].seconds < 10
    r = run(CommandDecoder(str(tmp_path / "missing-decoder")), [SUITE.by_id("parse/paper-example")], Options())
    assert r.results[0].reason.startswith("cannot start")


def test_selection_and_cli_errors(tmp_path):
    sel = select(SUITE.vectors, ["reject"], ["checksum-*"], ["*crc32c"])
    assert sel and all(v.id.startswith("reject/checksum-") for v in sel) and "reject/checksum-crc32c" not in {v.id for v in sel}
    assert select(SUITE.vectors, None, ["parse/seed-0"]) == [SUITE.by_id("parse/seed-0")]
    r = cli("run", "--decoder", "true", "--level", "pixels")
    assert r.returncode == 2 and "unknown level" in r.stderr
    r = cli("run", "--decoder", "true", "--only", "no-such-vector")
    assert r.returncode == 2 and "no vector matches" in r.stderr
    # a damaged vector is refused before any decoder runs
    copy = tmp_path / "vectors"
    shutil.copytree(VECTORS, copy, ignore=shutil.ignore_patterns("models"))
    p = copy / "reject" / "checksum-zero.aigif"
    p.write_bytes(p.read_bytes() + b"!")
    r = cli("run", "--decoder", "true", "--vectors", str(copy), "--only", "reject/checksum-zero")
    assert r.returncode == 2 and "does not match its SHA-256" in r.stderr


def test_manifest_of_another_version_is_refused(tmp_path):
    from aigif.conformance import SuiteError
    m = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
    (tmp_path / "manifest.json").write_text(json.dumps({**m, "manifest_version": 1}))
    with pytest.raises(SuiteError, match="manifest_version 1"):
        load_suite(tmp_path)


def test_what_a_vector_expects_comes_from_its_own_files():
    assert SUITE.by_id("reject/checksum-crc32c").expect == {"outcome": "reject", "error": "E_CHECKSUM"}
    noise = vectors("noise")[0]
    assert noise.expect == {"outcome": "noise", **{k: noise.expected_json()[k] for k in ("source", "seed", "shape", "count")}}
    assert SUITE.by_id("parse/paper-example").expect == {"outcome": "accept"}


# ================================================================== regen judging (synthetic vector)
def regen_suite(tmp_path, tolerance):
    """A one-vector suite in tmp_path: an 8x8 file, its expected image and its tolerance."""
    from aigif.conformance.suite import Suite, Vector
    rgb = bytes((x * 29 + y * 13 + c * 50) & 0xFF for y in range(8) for x in range(8) for c in range(3))
    f = jsonform.new("sd-1.5", REG, height=8, width=8, seed=1, prompt="p")
    (tmp_path / "v.aigif").write_bytes(codec.write(f, REG))
    (tmp_path / "v.png").write_bytes(png.write_png(8, 8, rgb))
    (tmp_path / "v.json").write_text(json.dumps({"description": "a synthetic regen vector", "tolerance": tolerance}))
    v = Vector("regen/synthetic", "regen", "synthetic", "a synthetic regen vector",
               files={"input": tmp_path / "v.aigif", "expected": tmp_path / "v.png", "meta": tmp_path / "v.json"})
    assert v.expect == {"outcome": "image", "tolerance": tolerance}
    return Suite(tmp_path, {}, [v]), rgb


def test_regen_judging(tmp_path):
    suite, rgb = regen_suite(tmp_path, {"cpu": {"psnr_min": 40.0, "measured": {"min_psnr": 45.0, "runs": 3, "platforms": ["x"]}},
                                        "cuda": "bit-exact"})
    v = suite.vectors[0]
    near = bytes(x ^ 1 if i % 2 == 0 else x for i, x in enumerate(rgb))  # MSE 0.5: 51.1 dB
    far = bytes(x ^ 64 if i % 3 == 0 else x for i, x in enumerate(rgb))
    same = run(InProcessDecoder(Fake(png_bytes=png.write_png(8, 8, rgb))), [v], Options(device_class="cuda")).results[0]
    assert same.status == "pass" and same.detail["psnr"] == "inf"
    r = run(InProcessDecoder(Fake(png_bytes=png.write_png(8, 8, near))), [v], Options(device_class="cpu")).results[0]
    assert r.status == "pass" and r.detail["psnr"] == pytest.approx(51.14, abs=0.01)
    r = run(InProcessDecoder(Fake(png_bytes=png.write_png(8, 8, near))), [v], Options(device_class="cuda")).results[0]
    assert r.status == "fail" and r.reason.startswith("not bit-exact (PSNR 51.14 dB)")
    r = run(InProcessDecoder(Fake(png_bytes=png.write_png(8, 8, far))), [v], Options(device_class="cpu")).results[0]
    assert r.status == "fail" and "below the minimum 40 dB for device class 'cpu'" in r.reason
    r = run(InProcessDecoder(Fake(png_bytes=png.write_png(4, 8, rgb[:96]))), [v], Options(device_class="cpu")).results[0]
    assert r.reason == "image is 4x8; expected 8x8"
    r = run(InProcessDecoder(Fake(png_bytes=b"not a png")), [v], Options()).results[0]
    assert r.reason.startswith("OUT.png: not a PNG")
    r = run(InProcessDecoder(Fake()), [v], Options()).results[0]
    assert r.reason == "exit 0 but OUT.png was not written"
    r = run(InProcessDecoder(Fake(3, err="E_MODEL_UNAVAILABLE: fetch tiny-sd1")), [v], Options()).results[0]
    assert r.status == "skip" and r.reason.startswith("E_MODEL_UNAVAILABLE")
    r = run(InProcessDecoder(Fake(png_bytes=png.write_png(8, 8, rgb))), [v], Options(device_class="mps")).results[0]
    assert r.status == "skip" and "no tolerance for device class 'mps'" in r.reason


def test_reference_render_validates_before_rendering(tmp_path):
    """``render`` of an invalid file is exit 1 with its code, whatever this build can render."""
    from aigif import refdecoder
    f = jsonform.new("tiny-sd1", REG, height=64, width=64, seed=1, prompt="a red circle")
    p = tmp_path / "t.aigif"
    p.write_bytes(codec.write(f, REG))
    bad = tmp_path / "bad.aigif"
    bad.write_bytes(p.read_bytes()[:-1])
    o = InProcessDecoder(refdecoder.main).call(["render", str(bad), str(tmp_path / "x.png")], 60)
    assert o.rc == 1 and o.first_token() == "E_TRUNCATED"


# ================================================================== pixel codecs (CONTRACT.md §5a): decode FILE OUT.png
DIFFC_DECODE = "diffc/diffc-tiny-sd1-64-3-steps"
DIFFC_REJECT = "diffc/diffc-reject-padding"


def test_diffc_vectors_are_in_the_manifest_with_their_own_class():
    ids = [v.id for v in vectors("diffc")]
    assert ids == ["diffc/diffc-tiny-sd1-64-header-only", "diffc/diffc-tiny-sd1-64-3-steps", "diffc/diffc-tiny-sd1-64-edited-6-steps",
                   "diffc/diffc-reject-size", "diffc/diffc-reject-version-2", "diffc/diffc-reject-padding",
                   "diffc/diffc-reject-timestep-order", "diffc/diffc-reject-cut-record"]
    assert SUITE.manifest["classes"]["diffc"] == {"command": "decode FILE OUT.png", "count": 8}
    d = SUITE.by_id(DIFFC_DECODE)
    assert d.expect["outcome"] == "image" and d.expect["tolerance"]["cpu:reference"] == "bit-exact"
    assert d.expect["tolerance"]["*"]["psnr_min"] == 30.0
    assert SUITE.by_id(DIFFC_REJECT).expect == {"outcome": "reject", "error": "E_NONZERO_PADDING"}
    for v in vectors("diffc"):  # a parser accepts every one: only decoding the payload finds a fault
        assert codec.read(v.files["input"].read_bytes(), REG).pixels.codec == "diffc"


def test_pixel_codec_judging():
    want = png.read_png(SUITE.by_id(DIFFC_DECODE).files["expected"].read_bytes())
    r = judge(Fake(png_bytes=png.write_png(*want)), DIFFC_DECODE)
    assert r.results[0].status == "pass" and r.results[0].detail["psnr"] == "inf"
    r = judge(Fake(1, err="E_NONZERO_PADDING: padding"), DIFFC_REJECT, "diffc/diffc-reject-size", DIFFC_DECODE)
    assert [x.status for x in r.results] == ["pass", "fail", "fail"]
    assert r.results[1].reason == "reported E_NONZERO_PADDING, expected E_PAYLOAD"
    assert r.results[2].reason == "rejected a valid file: E_NONZERO_PADDING"
    r = judge(Fake(0), DIFFC_REJECT)
    assert r.results[0].reason == "decoded an invalid payload (expected E_NONZERO_PADDING)"
    r = judge(Fake(3, err="E_MODEL_UNAVAILABLE: fetch tiny-sd1"), DIFFC_DECODE, DIFFC_REJECT)
    assert [x.status for x in r.results] == ["skip", "skip"]
    r = judge(Fake(3, err="E_NOISE_UNAVAILABLE"), DIFFC_DECODE)
    assert r.results[0].status == "fail" and r.results[0].reason.startswith("exit 3 needs one of E_MODEL_UNAVAILABLE")


def test_a_codec_the_decoder_does_not_implement_is_unsupported_not_failed_nor_passed():
    ids = [v.id for v in vectors("diffc")]
    r = judge(Fake(3, err="E_UNSUPPORTED: pixel codec diffc is not implemented"), *ids, "parse/paper-example")
    assert [x.status for x in r.results] == ["unsupported"] * 8 + ["fail"]
    lines = r.lines()
    assert lines[0].startswith("FAIL parse/paper-example")
    assert lines[1].startswith("unsupported (") and lines[2] == f"  unsupported {ids[0]}: E_UNSUPPORTED: pixel codec diffc is not implemented"
    assert lines[-1] == "0 passed, 1 failed, 8 unsupported"
    doc = r.to_json()
    assert doc["summary"] == {"passed": 0, "failed": 1, "skipped": 0, "unsupported": 8}
    assert not list(Draft202012Validator(RESULTS_SCHEMA).iter_errors(doc))
    # "unsupported" exists for pixel codecs only: the same answer to render or noise is a failure
    r = judge(Fake(3, err="E_UNSUPPORTED"), vectors("noise")[0].id)
    assert r.results[0].status == "fail"
    # exit 1 with E_UNSUPPORTED is a verdict on the file: right for version 2 of diffc, wrong for a valid payload
    r = judge(Fake(1, err="E_UNSUPPORTED: diffc version 2"), "diffc/diffc-reject-version-2", DIFFC_DECODE)
    assert [x.status for x in r.results] == ["pass", "fail"]


def test_js_decoder_says_unsupported_for_diffc():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH (tests/test_js.py requires it)")
    from test_js import gen_registry
    gen_registry()  # js/src/registry_data.js is generated, not kept: a fresh clone has none until it is made
    r = cli("run", "--decoder", f"{node} {ROOT / 'js' / 'bin' / 'aigif.js'}", "--level", "diffc", "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "0 passed, 0 failed, 8 unsupported"
    assert "FAIL" not in r.stdout


def test_reference_decoder_decodes_the_diffc_vectors():
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    r = run(InProcessDecoder.reference(), vectors("diffc"), Options(device_class="cpu"), suite=SUITE)
    assert not r.failed and not r.skipped and not r.unsupported, "\n".join(r.lines())
    assert r.lines()[-1] == "8 passed, 0 failed"
    psnr = {x.id: x.detail.get("psnr") for x in r.results if SUITE.by_id(x.id).wants_image}
    assert len(psnr) == 3 and all(p == "inf" or p >= 30 for p in psnr.values()), psnr


# ================================================================== progress (issue 16)
def test_progress_line_shape():
    import io

    from aigif.conformance.progress import Progress
    from aigif.conformance.runner import VectorResult
    t = [0.0]
    buf = io.StringIO()
    bar = Progress(4, buf, enabled=True, interval=1.0, width=200, clock=lambda: t[0])
    for i, status in enumerate(["pass", "pass", "fail", "pass"]):
        t[0] += 0.5
        bar(VectorResult(f"reject/v{i}", "reject", status))
    bar.close()
    out = buf.getvalue()
    frames = out.split("\r")[1:]
    assert out.startswith("\r") and out.endswith("\n") and out.count("\n") == 1  # one line, redrawn in place
    assert frames[0].startswith("[conformance] 1/4  25%  pass 1  fail 0  2.0/s  ETA 0:02  reject/v0")
    assert len(frames) == 4  # v0; v1 within the interval is not drawn; v2 after it; v3, the last, always; the final line
    assert frames[-2].startswith("[conformance] 4/4  100%  pass 3  fail 1  2.0/s  reject/v3")
    assert frames[-1].rstrip() == "[conformance] 4/4  100%  pass 3  fail 1  in 0:02"
    quiet = io.StringIO()  # not a terminal: off unless forced
    bar = Progress(1, quiet)
    bar(VectorResult("reject/v", "reject", "pass"))
    bar.close()
    assert not bar.enabled and quiet.getvalue() == ""


def test_progress_on_the_command_line():
    def run_cli(*extra):  # bytes: text mode would turn the carriage returns into newlines
        return subprocess.run([sys.executable, "-m", "aigif.cli.conformance", "run", "--decoder", f"{sys.executable} -m aigif.refdecoder",
                               "--only", "reject/checksum-zero,reject/magic-lowercase", *extra], capture_output=True, timeout=300)
    r = run_cli("--progress")
    err = r.stderr.decode()
    assert r.returncode == 0 and r.stdout.decode().splitlines() == ["2 passed, 0 failed"]
    assert err.startswith("\r[conformance] ") and err.endswith("\n") and err.count("\n") == 1
    assert err.rsplit("\r", 1)[1].rstrip().startswith("[conformance] 2/2  100%  pass 2  fail 0  in ")
    r = run_cli()  # stderr is a pipe here: no progress by default
    assert r.returncode == 0 and r.stderr == b""
    r = run_cli("--no-progress")
    assert r.returncode == 0 and r.stderr == b""
