"""Single-file checkpoints (SPEC.md §5.3, §12.2): the conformance models as one file each in
the original LDM key layout (tiny-sd1.safetensors, tiny-sdxl.safetensors, built here by
tools/build_single_file.py, deterministically, and checked tensor by tensor against the
directories) regenerate, as unregistered models, the images the directories give; hashed before
use, pickles refused, configs only from this machine."""
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from aigif import jsonform  # noqa: E402
from aigif.errors import AigifError  # noqa: E402
from aigif.registry import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REG = load()
CKPT = Path(tempfile.mkdtemp(prefix="aigif-single-file-")) / "tiny-sd1.safetensors"
TINY_SD1 = ROOT / "vectors" / "models" / "tiny-sd1"
SHA = ""  # of CKPT, once built
BUILD: dict = {}


def build_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tools" / "build_single_file.py"), *args], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module", autouse=True)
def checkpoints():
    """Both checkpoints, built into a temporary folder, each loaded back and compared (--verify)."""
    global SHA
    BUILD["out"] = build_tool("--out", str(CKPT.parent), "--verify")
    assert BUILD["out"].returncode == 0, BUILD["out"].stdout + BUILD["out"].stderr
    SHA = hashlib.sha256(CKPT.read_bytes()).hexdigest()
    yield
    shutil.rmtree(CKPT.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def made():
    """An image of tiny-sd1 through its directory, and the same generation as an unregistered-sd
    file naming the checkpoint by its full SHA-256."""
    from aigif.regen import Regenerator
    from aigif.regen.encode import encode_fields
    image, _, f = encode_fields(dict(model="tiny-sd1", prompt="a red circle", negative_prompt="blue", height=64, width=64,
                                     seed=829557441, dtype="float32", noise="torch-cpu", fields={"steps": 4}),
                                Regenerator(device="cpu"))
    u = jsonform.from_json({**json.loads(json.dumps(jsonform.to_json(f))), "model": "unregistered-sd",
                            "model_fields": {"weights_hash": SHA, "model_name": "tiny-sd1.safetensors"}})
    return np.asarray(image.convert("RGB")), u


def test_sdxl_single_file_regenerates_the_directorys_image():
    """tiny-sdxl as one file (its second text encoder in OpenCLIP's layout) as unregistered-sdxl."""
    from aigif.regen import Regenerator
    from aigif.regen.encode import encode_fields
    ck = CKPT.with_name("tiny-sdxl.safetensors")
    sha = hashlib.sha256(ck.read_bytes()).hexdigest()
    s = REG.table("models").by_key["tiny-sdxl"].get("sample_size") or 64
    image, _, f = encode_fields(dict(model="tiny-sdxl", prompt="a red circle", negative_prompt="blue", height=s, width=s,
                                     seed=5, dtype="float32", noise="torch-cpu", fields={"steps": 3}), Regenerator(device="cpu"))
    u = jsonform.from_json({**json.loads(json.dumps(jsonform.to_json(f))), "model": "unregistered-sdxl",
                            "model_fields": {"weights_hash": sha, "model_name": "tiny-sdxl.safetensors"}})
    res = _regen(f"hash:{sha}={ck}").render(u)
    assert res.source == "regenerated" and (res.pixels == np.asarray(image.convert("RGB"))).all()
    with pytest.raises(AigifError) as e:  # an SD 1.x checkpoint is not an SDXL model
        _regen(f"hash:{SHA}={CKPT}").render(_with_hash(u, SHA))
    assert e.value.code == "E_MODEL_UNAVAILABLE" and "tiny-sdxl" in e.value.message


def _regen(*mappings, **kw):
    from aigif.regen import Regenerator, loading
    return Regenerator(device="cpu", model_dirs=loading.parse_model_dirs(list(mappings)), **kw)


def _with_hash(f, weights_hash: str):
    return jsonform.from_json({**json.loads(json.dumps(jsonform.to_json(f))),
                               "model_fields": {"weights_hash": weights_hash, "model_name": "tiny-sd1.safetensors"}})


def test_the_checkpoint_rebuilds_byte_identical_and_its_mapping_is_exact():
    """--check: a second build is byte for byte the first; --verify (the fixture's build): loaded by
    diffusers over the model's configs, every tensor and config equals the directory model's."""
    again = build_tool("--out", str(CKPT.parent), "--check")
    assert again.returncode == 0, again.stdout + again.stderr
    out = BUILD["out"]
    for key in ("tiny-sd1", "tiny-sdxl"):
        assert f"{key}.safetensors: ok" in again.stdout
        for c in ("unet", "vae", "text_encoder") + (("text_encoder_2",) if key == "tiny-sdxl" else ()):
            assert f"{key}: {c}: " in out.stdout, (key, c)
    assert "differ" not in out.stdout


def test_single_file_regenerates_the_directorys_image(made):
    pixels, u = made
    res = _regen(f"hash:{SHA}={CKPT}").render(u)  # --model-dir hash:HEX=FILE
    assert res.source == "regenerated" and (res.pixels == pixels).all()
    # an A1111 AutoV2 hash (the first 10 hex digits) and a name mapping find it too
    res = _regen(f"name:tiny-sd1.safetensors={CKPT}").render(_with_hash(u, SHA[:10]))
    assert (res.pixels == pixels).all()


def test_the_users_config_directory_is_used(made):
    pixels, u = made
    res = _regen(f"hash:{SHA}={CKPT}", f"config:unregistered-sd={TINY_SD1}").render(u)
    assert (res.pixels == pixels).all()
    with pytest.raises(AigifError) as e:  # another family's configs
        _regen(f"hash:{SHA}={CKPT}", f"config:unregistered-sd={ROOT / 'vectors/models/tiny-sdxl'}").render(u)
    assert e.value.code == "E_MODEL_UNAVAILABLE" and "StableDiffusionXLPipeline" in e.value.message


def test_wrong_hash_is_E_MODEL_HASH(made):
    _, u = made
    with pytest.raises(AigifError) as e:
        _regen(f"hash:{'11' * 32}={CKPT}").render(_with_hash(u, "11" * 32))
    assert e.value.code == "E_MODEL_HASH"


def test_a_checkpoint_changed_after_its_hash_was_checked_is_not_loaded(made, tmp_path):
    from aigif.regen import loading
    _, u = made
    ck = tmp_path / "mine.safetensors"
    ck.write_bytes(CKPT.read_bytes())
    path = loading.locate(u.model, u.model_fields, REG, {f"hash:{SHA}": ck})
    data = bytearray(ck.read_bytes())
    data[-1] ^= 1  # one bit of the last tensor
    ck.write_bytes(bytes(data))
    with pytest.raises(AigifError) as e:
        loading.load_pipeline(u.model, "float32", "cpu", path, REG)
    assert e.value.code == "E_MODEL_HASH" and "changed after" in e.value.message


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".bin"])
def test_pickled_checkpoints_are_refused_unopened(made, tmp_path, suffix):
    _, u = made
    ck = tmp_path / f"tiny-sd1{suffix}"
    ck.write_bytes(b"\x80\x04 a pickle would run code here")
    with pytest.raises(AigifError) as e:
        _regen(f"name:tiny-sd1.safetensors={ck}").render(_with_hash(u, ""))
    assert e.value.code == "E_MODEL_UNAVAILABLE" and "never loaded" in e.value.message and "safetensors" in e.value.message


def test_no_config_on_this_machine_is_a_clear_error(made, tmp_path, monkeypatch):
    from aigif.regen import loading
    _, u = made
    monkeypatch.setattr(loading, "local_model_dir", lambda local: None)  # tiny-sd1's directory is not here
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv(loading.MODEL_DIR_ENV, raising=False)
    with pytest.raises(AigifError) as e:
        _regen(f"hash:{SHA}={CKPT}").render(u)
    assert e.value.code == "E_MODEL_UNAVAILABLE"
    assert "needs its family's diffusers configs" in e.value.message and "--model-dir config:unregistered-sd=DIR" in e.value.message
    assert "hf download stable-diffusion-v1-5/stable-diffusion-v1-5" in e.value.message


def test_an_edited_config_cannot_buy_an_allocation(made, tmp_path):
    _, u = made
    d = tmp_path / "cfg"
    for p in TINY_SD1.rglob("*"):
        if p.is_file() and not p.name.endswith(".safetensors"):
            (d / p.relative_to(TINY_SD1)).parent.mkdir(parents=True, exist_ok=True)
            (d / p.relative_to(TINY_SD1)).write_bytes(p.read_bytes())
    cfg = json.loads((d / "unet" / "config.json").read_text())
    (d / "unet" / "config.json").write_text(json.dumps({**cfg, "transformer_layers_per_block": 40}))
    with pytest.raises(AigifError) as e:
        _regen(f"hash:{SHA}={CKPT}", f"config:unregistered-sd={d}").render(u)
    assert e.value.code == "E_BUDGET" and "the checkpoint holds" in e.value.message


def test_a_registered_model_with_listed_files_needs_its_directory():
    from aigif.regen import loading
    with pytest.raises(AigifError) as e:
        loading.check_model_dir(CKPT, "tiny-sd1", REG)
    assert e.value.code == "E_MODEL_UNAVAILABLE" and "lists its files" in e.value.message
