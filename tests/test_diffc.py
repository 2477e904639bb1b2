"""The diffc pixel codec and the learned-codec slot (SPEC.md Appendix H)."""
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aigif import codec, jsonform
from aigif.errors import AigifError
from aigif.file import PixelPayload
from aigif.noise import portable
from aigif.pixelcodecs import diffc, learned

ROOT = Path(__file__).resolve().parents[1]
SCALED = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "num_train_timesteps": 1000}


def code(fn, *a, **kw):
    with pytest.raises(AigifError) as ei:
        fn(*a, **kw)
    return ei.value.code


# ---------------------------------------------------------------- bitstream (no model)

HDR = diffc.Header(width=64, height=32, seed=2**64 - 2, t_start=999, flow_steps=4)
STEPS = [diffc.Step(900, 5, [0, 31, 7]), diffc.Step(700, 12, [4095, 1]), diffc.Step(3, 1, [1])]


def test_bitstream_round_trip_and_layout():
    data = diffc.serialize(HDR, STEPS)
    # version, width 64, height 32, cond 0, seed LE, t_start 999 = e7 07, flow 4: 15 bytes
    assert data[:15] == bytes([1, 64, 32, 0]) + (2**64 - 2).to_bytes(8, "little") + bytes([0xE7, 0x07, 4])
    # record 1: t 900 = 84 07, n 3, k 5, indices 00000 11111 00111 + 1 zero padding bit
    assert data[15:19] == bytes([0x84, 0x07, 3, 5])
    assert data[19:21] == int("0000011111001110", 2).to_bytes(2, "big")
    header, steps = diffc.parse(data, 64, 32, dims=128, timesteps=1000)
    assert header == HDR and steps == STEPS
    assert diffc.truncate(data, 1) == data[:21]
    assert diffc.parse(data[:15], 64, 32)[1] == []  # header only: zero records is a valid payload


@pytest.mark.parametrize("mutate, want", [
    (lambda d: d[:1] + bytes([65]) + d[2:], "E_PAYLOAD"),             # width is not the file's
    (lambda d: bytes([2]) + d[1:], "E_UNSUPPORTED"),                    # version 2
    (lambda d: d[:3] + bytes([1]) + d[4:], "E_RANGE"),                  # conditioning 1
    (lambda d: d[:1] + bytes([65]) + d[2:3] + bytes([1]) + d[4:], "E_PAYLOAD"),  # the size is checked first
    (lambda d: d[:14] + bytes([0]) + d[15:], "E_RANGE"),                # 0 flow steps
    (lambda d: d[:10], "E_OVERRUN"),                                    # inside the seed
    (lambda d: d[:20], "E_OVERRUN"),                                    # inside the indices
    (lambda d: d[:20] + bytes([d[20] | 1]) + d[21:], "E_NONZERO_PADDING"),
    (lambda d: d[:15] + bytes([0xE7, 0x07]) + d[17:], "E_RANGE"),       # t 999 not below t_start 999
    (lambda d: d[:17] + bytes([0]) + d[18:], "E_RANGE"),                # 0 chunks
    (lambda d: d[:18] + bytes([21]) + d[19:], "E_RANGE"),               # k 21
    (lambda d: d[:15] + bytes([0x84, 0x87]), "E_OVERRUN"),              # uvarint runs off the end
    (lambda d: d[:15] + bytes([0x84, 0x07, 0x80, 0x00]), "E_VARINT"),  # overlong
])
def test_bitstream_errors(mutate, want):
    assert code(diffc.parse, mutate(diffc.serialize(HDR, STEPS)), 64, 32, dims=128, timesteps=1000) == want


def test_bitstream_limits_from_the_model():
    data = diffc.serialize(HDR, STEPS)
    assert code(diffc.parse, data, 64, 32, dims=2) == "E_RANGE"             # 3 chunks > 2 latent values
    assert code(diffc.parse, data, 64, 32, timesteps=999) == "E_RANGE"      # t_start 999 ≥ 999 steps
    assert code(diffc.serialize, HDR, [diffc.Step(5, 2, [4])]) == "E_RANGE"  # index does not fit


# ---------------------------------------------------------------- schedule and shared randomness

def test_schedule_matches_diffusers_and_is_binary64():
    torch = pytest.importorskip("torch")
    from diffusers import DDPMScheduler
    ref = DDPMScheduler(**SCALED).alphas_cumprod.to(torch.float64).numpy()
    ours = np.asarray(diffc.alphas_cumprod(SCALED))
    assert np.max(np.abs(ours - ref)) < 1e-6          # diffusers computes it in float32
    r0, r1 = math.sqrt(0.00085), math.sqrt(0.012)
    b1 = (r0 + (r1 - r0) / 999) ** 2
    assert ours[1] == (1.0 - 0.00085) * (1.0 - b1)    # exactly the formula of H.2, in binary64
    assert diffc.alphas_cumprod({"trained_betas": [0.5, 0.5]}) == [0.5, 0.25]
    assert code(diffc.alphas_cumprod, {"beta_schedule": "squaredcos_cap_v2"}) == "E_REGEN_UNSUPPORTED"
    assert code(diffc.alphas_cumprod, {"trained_betas": [0.5, 1.0]}) == "E_REGEN_UNSUPPORTED"


def test_flow_timesteps():
    assert diffc.flow_timesteps(300, 4) == [300, 225, 150, 75]
    assert diffc.flow_timesteps(2, 4) == [2, 1]
    assert diffc.flow_timesteps(0, 4) == [0]


def test_candidates_are_the_portable_stream():
    seed, dims, n, k, j = 11, 10, 3, 2, 2
    sj = (seed + j * 0x9E3779B97F4A7C15) % 2**64
    m = 4  # ceil(10 / 3)
    block = diffc.candidate_block(seed, j, n, 1, k, dims)      # chunk 1: dims 1, 4, 7
    assert block.shape == (4, 3)
    for i in range(4):
        want = [portable.value(sj, (1 * 4 + i) * m + e) for e in range(3)]  # the pure-Python definition
        assert block[i].tolist() == want
    eps = diffc.chosen_noise(seed, j, diffc.Step(5, k, [3, 2, 0]), dims)
    assert eps[1::3].tolist() == block[2].tolist()
    assert eps[2::3].tolist() == diffc.candidate_block(seed, j, n, 2, k, dims)[0].tolist()
    assert diffc.start_noise(seed, 4).tolist() == [portable.value(seed, i) for i in range(4)]


# ---------------------------------------------------------------- the coding, on an analytic model

class GaussianPrior(diffc.Denoiser):
    """x0 ~ N(0, I): its exact posterior mean is the x0 prediction, so the
    reverse channel coding alone decides how well x_t follows q(x_t | x0)."""

    def __init__(self):
        super().__init__(diffc.alphas_cumprod(SCALED), 4, 8)

    def x0_hat(self, x, t):
        a = self.abar[t]
        x0 = x * float(np.float32(math.sqrt(a) / (a + 1 - a)))
        return x0, (x - x0 * float(np.float32(math.sqrt(a)))) / float(np.float32(math.sqrt(1 - a)))


def test_reverse_channel_coding_samples_the_posterior():
    torch = pytest.importorskip("torch")
    m = GaussianPrior()
    x0 = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 4, 16, 16)).astype(np.float32))
    mses, rates = [], []
    for t_end, steps in [(600, 3), (200, 6), (50, 10)]:
        rep = diffc.encode_latent(x0, 128, 128, m, seed=3, steps=steps, t_end=t_end, k_max=10)
        _, x, t = diffc.reverse(rep.payload, 128, 128, m)
        a = m.abar[t]
        z = ((x - math.sqrt(a) * x0) / math.sqrt(1 - a)).numpy()
        assert abs(z.mean()) < 0.15 and 0.85 < z.std() < 1.3, (t_end, z.mean(), z.std())  # x_t ~ q(x_t | x0)
        assert sum(rep.coded_bits) < 1.6 * sum(rep.kl_bits) + 40 * steps                # close to the KL
        mses.append(float(((m.flow(x, t, 4) - x0) ** 2).mean()))
        rates.append(len(rep.payload))
    assert rates == sorted(rates) and mses == sorted(mses, reverse=True)                # more bits, less error
    assert mses[-1] < 0.2


# ---------------------------------------------------------------- on the file's model (tiny-sd1)

torch_available = True
try:
    import diffusers  # noqa: F401
    import torch  # noqa: F401
except ImportError:  # pragma: no cover
    torch_available = False
needs_torch = pytest.mark.skipif(not torch_available, reason="needs the regen extra")


def tiny_file(**kw):
    f = jsonform.new("tiny-sd1", height=64, width=64, seed=829557441, prompt="a red circle", dtype="float32", noise="portable")
    f.fields["steps"] = 4
    for k, v in kw.items():
        setattr(f, k, v)
    return f


@pytest.fixture(scope="module")
def regen():
    if not torch_available:
        pytest.skip("needs the regen extra")
    from aigif.regen import Regenerator
    return Regenerator(device="cpu")


@pytest.fixture(scope="module")
def image(regen):
    from aigif.regen import pixels
    return pixels.canonical(regen.generate(tiny_file()))


ENCODE = dict(steps=3, t_end=500, k_max=8, flow_steps=2, max_step_bits=64)


@needs_torch
def test_payload_in_a_file_decodes_through_the_slot(regen, image):
    from aigif.pixelcodecs import decode_payload, encode_payload
    from aigif.regen import pixels
    f = tiny_file(dtype="float16")  # diffc runs in float32 whatever the file's dtype
    f.pixels = encode_payload(f, image, "diffc", regen, **ENCODE)
    back = codec.read(codec.write(f))
    assert back.pixels.codec == "diffc" and back.pixels.data == f.pixels.data
    out = decode_payload(back, regen)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert np.array_equal(out, decode_payload(back, regen))            # deterministic
    assert len(f.pixels.data) * 20 <= len(pixels.encode_png(image))   # ≥ 20× smaller than PNG
    small = tiny_file()
    small.pixels = PixelPayload("diffc", f.pixels.data)
    small.width = 128
    assert code(decode_payload, small, regen) == "E_PAYLOAD"            # the codec's header says 64×64


@needs_torch
def test_progressive_truncation(regen, image):
    from aigif.pixelcodecs import diffc_model
    m = diffc_model(tiny_file(), regen)
    rep = diffc.encode(image, m, seed=5, **ENCODE)
    assert len(rep.record_ends) == 3 and rep.record_ends[-1] == len(rep.payload)
    for r in range(4):
        cut = diffc.truncate(rep.payload, r)
        assert cut == rep.payload[:rep.record_ends[r - 1] if r else 15]  # a step boundary is a byte prefix
        assert np.array_equal(diffc.decode(cut, 64, 64, m), diffc.decode(rep.payload, 64, 64, m, records=r))
    assert not np.array_equal(diffc.decode(rep.payload[:15], 64, 64, m), diffc.decode(rep.payload, 64, 64, m))


@needs_torch
def test_decoder_is_bit_exact_across_processes(regen, image, tmp_path):
    from aigif.pixelcodecs import decode_payload, encode_payload
    f = tiny_file()
    f.pixels = encode_payload(f, image, "diffc", regen, **ENCODE)
    path = tmp_path / "x.aigif"
    path.write_bytes(codec.write(f))
    here = decode_payload(f, regen)
    script = ("import sys, numpy as np; from aigif import codec; from aigif.regen import Regenerator;"
              "from aigif.pixelcodecs import decode_payload;"
              "f = codec.read(open(sys.argv[1], 'rb').read());"
              "sys.stdout.buffer.write(decode_payload(f, Regenerator(device='cpu')).tobytes())")
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, check=True, timeout=120,
                         env={**os.environ, "AIGIF_THREADS": "1"}).stdout
    assert out == here.tobytes()


def test_other_families_are_unsupported():
    pytest.importorskip("torch")
    assert code(diffc.Model, object()) == "E_REGEN_UNSUPPORTED"


# ---------------------------------------------------------------- the learned-codec slot

def smooth(h=32, w=48):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 5) % 256, (y * 7) % 256, (x + y) * 2 % 256], axis=-1).astype(np.uint8)


def test_learned_slot_end_to_end(tmp_path, monkeypatch):
    from aigif.regen.pixels import psnr
    wdir = tmp_path / "weights"
    wdir.mkdir()
    tmp = tmp_path / "w.safetensors"
    sha = learned.TestLinear.make_weights(tmp)
    (wdir / f"{sha.hex()}.safetensors").write_bytes(tmp.read_bytes())
    img = smooth()
    data = learned.TEST_LINEAR.encode(img, tmp, keep=10, step=4)
    slot = learned.read_slot(data, 48, 32)
    assert slot.weights_sha256 == sha and slot.params == bytes([1, 8, 10, 4])
    f = jsonform.new("tiny-sd1", height=32, width=48, seed=1, prompt="x")
    f.pixels = PixelPayload("test-linear", data)
    f = codec.read(codec.write(f))   # a registered codec: the file carries it
    from aigif.pixelcodecs import decode_payload
    monkeypatch.setenv("AIGIF_CODEC_WEIGHTS", str(wdir))
    out = decode_payload(f)
    assert out.shape == img.shape and psnr(img, out) > 22
    # also by an explicit HEX=FILE entry, and under DIR/<codec>/
    assert np.array_equal(decode_payload(f, weights_dirs=[f"{sha.hex()}={tmp}"]), out)
    (tmp_path / "d" / "test-linear").mkdir(parents=True)
    (tmp_path / "d" / "test-linear" / f"{sha.hex()}.safetensors").write_bytes(tmp.read_bytes())
    assert np.array_equal(decode_payload(f, weights_dirs=[tmp_path / "d"]), out)


def test_learned_slot_missing_and_wrong_weights(tmp_path, monkeypatch):
    tmp = tmp_path / "w.safetensors"
    sha = learned.TestLinear.make_weights(tmp)
    data = learned.TEST_LINEAR.encode(smooth(), tmp)
    monkeypatch.delenv("AIGIF_CODEC_WEIGHTS", raising=False)
    with pytest.raises(AigifError) as ei:
        learned.TEST_LINEAR.decode(data, 48, 32)
    assert ei.value.code == "E_UNSUPPORTED" and sha.hex() in str(ei.value) and "test-linear" in str(ei.value)
    other = tmp_path / "other.safetensors"
    learned.TestLinear.make_weights(other, patch=4)
    assert code(learned.TEST_LINEAR.decode, data, 48, 32, [f"{sha.hex()}={other}"]) == "E_MODEL_HASH"
    assert code(learned.TEST_LINEAR.decode, data, 64, 32, [str(tmp_path)]) == "E_PAYLOAD"
    assert code(learned.TEST_LINEAR.decode, data[:30], 48, 32, [str(tmp_path)]) == "E_OVERRUN"
    assert code(learned.TEST_LINEAR.decode, data + b"\x00", 48, 32, [f"{sha.hex()}={tmp}"]) == "E_OVERRUN"
    bad = bytearray(data)
    bad[-len(learned.read_slot(data, 48, 32).bitstream) - 2] = 0  # keep = 0
    assert code(learned.TEST_LINEAR.decode, bytes(bad), 48, 32, [f"{sha.hex()}={tmp}"]) == "E_RANGE"


# ---------------------------------------------------------------- the spec's example, the vectors, the CLI

def test_spec_example_header():
    hdr = diffc.Header(width=64, height=64, seed=829557441, t_start=999, flow_steps=4)
    assert diffc.serialize(hdr, []).hex(" ") == "01 40 40 00 c1 0a 72 31 00 00 00 00 e7 07 04"
    assert "`01 40 40 00 | c1 0a 72 31 00 00 00 00 | e7 07 | 04`" in (ROOT / "SPEC.md").read_text(encoding="utf-8")


@needs_torch
def test_committed_vectors_decode(regen):
    """The diffc class of vectors/manifest.json (conformance/CONTRACT.md §5a): each decode vector's
    pixels within its tolerance (bit-exact on the reference platform), each reject vector's code."""
    from aigif.conformance import load_suite, select, verify
    from aigif.pixelcodecs import decode_payload
    from aigif.regen import pixels
    vs = select(load_suite(ROOT / "vectors").vectors, ["diffc"])
    assert len(vs) == 8 and verify(vs) == []
    assert {v.wants_image for v in vs} == {True, False}
    for v in vs:
        f = codec.read(v.files["input"].read_bytes())
        assert f.pixels.codec == "diffc"
        if not v.wants_image:
            assert code(decode_payload, f, regen) == v.expected_json()["error"], v.id
            continue
        got = decode_payload(f, regen)
        want = pixels.decode_png(v.files["expected"].read_bytes(), 64, 64)
        assert pixels.psnr(want, got) >= v.meta_json()["tolerance"]["*"]["psnr_min"], v.id


def test_vector_builder_checks_the_diffc_files_without_the_model(tmp_path):
    """python -m tools.vectors carries the model-made files over and checks them: a reject
    vector whose bitstream the parser accepts, or a missing file, stops the build."""
    import shutil

    from tools.vectors.common import BuildError, Vectors
    from tools.vectors.diffc_cases import build_diffc
    vs = Vectors()
    build_diffc(vs, ROOT / "vectors")
    assert [v.id for v in vs.vectors][:1] == ["diffc/diffc-tiny-sd1-64-header-only"] and len(vs.vectors) == 8
    copy = tmp_path / "vectors"
    shutil.copytree(ROOT / "vectors" / "diffc", copy / "diffc")
    good = copy / "diffc" / "diffc-tiny-sd1-64-3-steps.aigif"
    shutil.copy(good, copy / "diffc" / "diffc-reject-padding.aigif")
    with pytest.raises(BuildError, match="diffc-reject-padding: the payload parses; the vector says E_NONZERO_PADDING"):
        build_diffc(Vectors(), copy)
    (copy / "diffc" / "diffc-tiny-sd1-64-3-steps.png").unlink()
    with pytest.raises(BuildError, match="run python -m tools.vectors.diffc_cases"):
        build_diffc(Vectors(), copy)


def test_diffc_vector_files_match_the_manifest_schema():
    """Decode vectors: diffc/<name>.json is a $defs/diffc_meta; reject vectors: a $defs/reject_expected."""
    import json

    from jsonschema import Draft202012Validator
    schema = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text(encoding="utf-8"))
    manifest = json.loads((ROOT / "vectors" / "manifest.json").read_text(encoding="utf-8"))
    diffc_vectors = [v for v in manifest["vectors"] if v["class"] == "diffc"]
    assert len(diffc_vectors) == 8
    for v in diffc_vectors:
        role, shape = ("meta", "diffc_meta") if "meta" in v["files"] else ("expected", "reject_expected")
        doc = json.loads((ROOT / "vectors" / v["files"][role]["path"]).read_text(encoding="utf-8"))
        errors = list(Draft202012Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{shape}"}).iter_errors(doc))
        assert not errors, (v["id"], [e.message for e in errors[:3]])


@needs_torch
def test_cli_encode_pixels(tmp_path, image, capsys):
    from aigif.cli.main import main
    from aigif.regen import pixels
    src = tmp_path / "x.aigif"
    src.write_bytes(codec.write(tiny_file()))
    png = tmp_path / "x.png"
    png.write_bytes(pixels.encode_png(image))
    out = tmp_path / "y.aigif"
    argv = ["encode-pixels", str(src), str(png), "-o", str(out), "--steps", "2", "--until", "600", "--step-bits", "32",
            "--k-max", "8", "--flow-steps", "1", "--check", "--device", "cpu"]
    assert main(argv) == 0
    line = capsys.readouterr().out
    assert "pixel payload diffc" in line and "PSNR" in line
    f = codec.read(out.read_bytes())
    assert f.pixels.codec == "diffc" and f.seed == tiny_file().seed
    assert main(argv) == 2                                   # exists: --force needed
    assert "--force" in capsys.readouterr().err
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert main(["encode-pixels", str(src), str(tmp_path / "junk.png"), "-o", str(tmp_path / "z.aigif")]) == 1
    assert "E_IO" in capsys.readouterr().err
    small = tmp_path / "small.png"
    small.write_bytes(pixels.encode_png(image[:32]))
    assert main(["encode-pixels", str(src), str(small), "-o", str(tmp_path / "z.aigif"), "--codec", "png"]) == 1
    assert "E_PAYLOAD" in capsys.readouterr().err


def test_learned_slot_framing_errors():
    sha = bytes(range(32))
    good = learned.write_slot(learned.SlotPayload(8, 8, sha, b"\x01", b"xyz"))
    p = learned.read_slot(good, 8, 8)
    assert (p.weights_sha256, p.params, p.bitstream) == (sha, b"\x01", b"xyz")
    assert code(learned.read_slot, b"\x02" + good[1:], 8, 8) == "E_UNSUPPORTED"
    assert code(learned.read_slot, good, 8, 16) == "E_PAYLOAD"
    assert code(learned.read_slot, good[:20], 8, 8) == "E_OVERRUN"                      # inside the SHA-256
    big = good[:35] + bytes([0x81, 0x80, 0x04])                                          # params_len 65,537
    assert code(learned.read_slot, big, 8, 8) == "E_LIMIT"
    assert code(learned.read_slot, good[:35] + bytes([9]) + b"abc", 8, 8) == "E_OVERRUN"  # past the end
    assert code(learned.read_slot, b"", 8, 8) == "E_OVERRUN"


def test_gathered_values_equal_the_stream():
    pos = np.array([0, 1, 2, 7, 2**33 + 1, 2**40 + 6, 5], dtype=np.uint64)
    assert diffc.values_at(42, pos).tolist() == [portable.value(42, int(p)) for p in pos]
    assert diffc.values_at(2**64 - 1, np.arange(9, 30, dtype=np.uint64)).tolist() == portable.values_np(2**64 - 1, 9, 21).tolist()
