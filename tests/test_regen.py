"""Regeneration (SPEC.md §12) on the bundled conformance models: bit-exact
across processes, registry-driven loading, payload fallback, record()."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from aigif import codec, jsonform  # noqa: E402
from aigif.errors import AigifError  # noqa: E402
from aigif.registry import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REG = load()
TINY = [m["key"] for m in REG.table("models").entries if m.get("status") == "conformance"]


def sample(model):
    return REG.table("models").by_key[model].get("sample_size") or 64


@pytest.fixture(scope="module")
def regen():
    from aigif.regen import Regenerator
    return Regenerator(device="cpu")


def fields(model, **kw):
    s = sample(model)
    d = dict(prompt="a red circle", negative_prompt="blue", height=s, width=s, seed=829557441, dtype="float32",
             noise="torch-cpu", fields={"steps": 4})
    d.update(kw)
    return {"model": model, **d}


def test_conformance_models_are_committed():
    for key in TINY:
        m = REG.table("models").by_key[key]
        assert (ROOT / m["source"]["local"] / "model_index.json").is_file(), key
        assert m.get("files"), f"{key}: the registry must list the SHA-256 of its files"


@pytest.mark.parametrize("model", TINY)
def test_same_process_bit_identical_and_digest(model, regen):
    from aigif.regen.encode import encode_fields
    image, data, f = encode_fields(fields(model), regen)
    g = codec.read(data)
    res = regen.render(g)
    assert res.bit_exact is True and res.fidelity == "bit-exact"
    assert (res.pixels == np.asarray(image.convert("RGB"))).all()


@pytest.mark.parametrize("model", TINY)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_every_model_runs_in_half_precision(model, dtype, regen):
    """The file's dtype reaches every component (SD3's transformer included) and
    changes the image, as SPEC.md §12.3 requires."""
    from aigif.regen.encode import encode_fields
    image32, _, _ = encode_fields(fields(model), regen)
    image, data, f = encode_fields(fields(model, dtype=dtype), regen)
    pipe, _ = regen.pipeline(f)
    assert {m.dtype for m in pipe.components.values() if hasattr(m, "dtype")} == {getattr(__import__("torch"), dtype)}
    res = regen.render(codec.read(data))
    assert res.bit_exact is True
    assert not (res.pixels == np.asarray(image32.convert("RGB"))).all()


def test_bit_identical_across_processes(tmp_path):
    """Encode in one process, decode in another: identical PNG pixels."""
    aig, png, out = tmp_path / "a.aigif", tmp_path / "a.png", tmp_path / "b.png"
    cli = [sys.executable, "-m", "aigif.cli.main"]
    r = subprocess.run(cli + ["encode", "--model", "tiny-sd1", "--prompt", "a blue square", "--seed", "7", "-o", str(aig), "--png", str(png)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(cli + ["decode", str(aig), "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "digest matches: bit-exact" in r.stdout
    from PIL import Image
    assert (np.asarray(Image.open(png)) == np.asarray(Image.open(out))).all()


def test_every_field_reaches_the_pipeline(regen):
    """Changing any field changes the image (the mapping is not silently dropping one)."""
    from aigif.regen import pixels
    base = jsonform.from_json(fields("tiny-sd1"))
    ref = pixels.canonical(regen.generate(base))
    changes = [("seed", 1), ("prompt", "a green triangle"), ("negative_prompt", ""), ("fields.steps", 5),
               ("fields.guidance", 7.0), ("fields.scheduler", "euler-a"), ("height", sample("tiny-sd1") + 8)]
    for name, value in changes:
        f = jsonform.from_json(fields("tiny-sd1"))
        if name.startswith("fields."):
            f.fields[name[7:]] = value
        else:
            setattr(f, name, value)
        img = pixels.canonical(regen.generate(f))
        assert img.shape != ref.shape or not (img == ref).all(), name


def test_portable_noise_source_regenerates(regen):
    from aigif.regen.encode import encode_fields
    _, data, f = encode_fields(fields("tiny-sd1", noise="portable"), regen)
    assert regen.render(codec.read(data)).bit_exact


def test_missing_model_names_what_to_download(tmp_path):
    from aigif.regen import Regenerator
    r = Regenerator(device="cpu")
    f = jsonform.new("sd-1.5", height=512, width=512, seed=1, prompt="x")
    import os
    os.environ["HF_HUB_CACHE"] = str(tmp_path)  # an empty cache
    try:
        with pytest.raises(AigifError) as e:
            r.render(f)
    finally:
        del os.environ["HF_HUB_CACHE"]
    assert e.value.code == "E_MODEL_UNAVAILABLE" and "stable-diffusion-v1-5/stable-diffusion-v1-5" in e.value.message
    assert "`hf download stable-diffusion-v1-5/stable-diffusion-v1-5 --local-dir DIR`" in e.value.message
    assert "huggingface-cli" not in e.value.message


def test_payload_fallback_when_model_unavailable():
    from aigif.file import PixelPayload
    from aigif.regen import Regenerator, pixels
    r = Regenerator(device="cpu")
    px = np.zeros((64, 64, 3), np.uint8)
    px[8:20, 8:40] = (200, 30, 30)
    f = jsonform.new("unregistered-sd", height=64, width=64, seed=1, prompt="x", model_fields={"model_name": "mine.safetensors"})
    f.pixels = PixelPayload("png", pixels.encode_png(px))
    res = r.render(codec.read(codec.write(f)))
    assert res.source == "payload" and (res.pixels == px).all()


def test_unregistered_model_through_user_mapping(regen, tmp_path):
    from aigif.regen import Regenerator
    from aigif.regen.encode import encode_fields
    _, data, f = encode_fields(fields("tiny-sd1"), regen)
    u = jsonform.from_json({**json.loads(json.dumps(jsonform.to_json(f))), "model": "unregistered-sd",
                            "model_fields": {"weights_hash": "", "model_name": "my-tiny.safetensors"}})
    with pytest.raises(AigifError) as e:
        Regenerator(device="cpu").render(u)
    assert e.value.code == "E_MODEL_UNAVAILABLE"
    tiny = ROOT / REG.table("models").by_key["tiny-sd1"]["source"]["local"]
    r = Regenerator(device="cpu", model_dirs={"name:my-tiny.safetensors": tiny})
    assert r.render(u).bit_exact  # same weights, same image


def test_an_unregistered_models_known_hash_is_verified_before_use(regen, tmp_path):
    """SPEC.md §5.3: a file naming its weights by hash never renders with other weights."""
    from aigif.regen import Regenerator
    from aigif.regen.encode import encode_fields
    _, _, f = encode_fields(fields("tiny-sd1"), regen)
    tiny = ROOT / REG.table("models").by_key["tiny-sd1"]["source"]["local"]
    u = jsonform.from_json({**json.loads(json.dumps(jsonform.to_json(f))), "model": "unregistered-sd",
                            "model_fields": {"weights_hash": "11" * 32, "model_name": "my-tiny"}})
    with pytest.raises(AigifError) as e:  # a directory cannot be checked against a checkpoint hash
        Regenerator(device="cpu", model_dirs={"name:my-tiny": tiny}).render(u)
    assert e.value.code == "E_MODEL_HASH" and "--unverified-models" in str(e.value)
    ckpt = tmp_path / "my-tiny.safetensors"
    ckpt.write_bytes(b"not the weights the file names")
    with pytest.raises(AigifError) as e:  # a file is hashed, and this one is not it
        Regenerator(device="cpu", model_dirs={"hash:" + "11" * 32: ckpt}).render(u)
    assert e.value.code == "E_MODEL_HASH"
    r = Regenerator(device="cpu", model_dirs={"name:my-tiny": tiny}, unverified=True)
    assert r.render(u).bit_exact  # the user vouched for the directory


def test_record_api(regen, tmp_path):
    import diffusers

    import aigif
    tiny = ROOT / REG.table("models").by_key["tiny-sd1"]["source"]["local"]
    pipe = diffusers.StableDiffusionPipeline.from_pretrained(tiny, local_files_only=True)
    image, f = aigif.record(pipe, tmp_path / "rec.aigif", prompt="a red circle", num_inference_steps=3, guidance_scale=6.3,
                            height=sample("tiny-sd1"), width=sample("tiny-sd1"), generator=torch.Generator().manual_seed(5), regen=regen)
    g = codec.read((tmp_path / "rec.aigif").read_bytes())
    assert g.fields["guidance"] == 6.3 and g.seed == 5 and g.model == "tiny-sd1"
    bare = pipe(prompt="a red circle", num_inference_steps=3, guidance_scale=6.3, height=sample("tiny-sd1"), width=sample("tiny-sd1"),
                generator=torch.Generator().manual_seed(5)).images[0]
    assert (np.asarray(bare) == np.asarray(image)).all()  # record() returns exactly what the bare call makes
    assert regen.render(g).bit_exact


def test_every_scheduler_dependency_is_installed():
    """What a registered scheduler needs (its ``requires``) comes with the regen extra."""
    import importlib.util
    needed = {pkg for e in load().table("schedulers").entries for pkg in e.get("requires", [])}
    assert needed >= {"scipy", "torchsde"}
    assert all(importlib.util.find_spec(pkg) is not None for pkg in needed)


def test_missing_scheduler_dependency_names_the_package(regen, monkeypatch):
    import importlib.util

    from aigif.regen import loading
    reg = load()
    entry = next(e for e in reg.table("schedulers").entries if "scipy" in e.get("requires", []))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "scipy" else real(name, *a))
    f = jsonform.new("tiny-sd1", reg, prompt="a red circle", height=64, width=64, seed=1)
    pipe, _ = regen.pipeline(f)
    with pytest.raises(AigifError) as e:
        loading.build_scheduler(pipe, entry["key"], reg)
    assert e.value.code == "E_REGEN_UNSUPPORTED"
    assert "scipy" in e.value.message and "pip install scipy" in e.value.message


# ------------------------------------------------------------------ record(): what a new user passes
TINY_SD1 = ROOT / REG.table("models").by_key["tiny-sd1"]["source"]["local"]


def _sd1_pipe(path=TINY_SD1):
    import diffusers
    return diffusers.StableDiffusionPipeline.from_pretrained(path, local_files_only=True)


def _linked_copy(src: Path, dst: Path) -> Path:
    """A model directory of its own (not a symlink to ``src``) whose contents link to ``src``'s."""
    dst.mkdir()
    for child in src.iterdir():
        (dst / child.name).symlink_to(child)
    return dst


def test_record_sd1_without_height_width(regen, tmp_path):
    """SD 1.x pipelines have no default_sample_size: the size is the UNet's, as diffusers computes it."""
    import aigif
    pipe = _sd1_pipe()
    image, f = aigif.record(pipe, tmp_path / "r.aigif", prompt="a red circle", num_inference_steps=2,
                            generator=torch.Generator().manual_seed(3), regen=regen)
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    assert (f.height, f.width) == (size, size) == image.size
    bare = pipe(prompt="a red circle", num_inference_steps=2, generator=torch.Generator().manual_seed(3)).images[0]
    assert (np.asarray(bare) == np.asarray(image)).all()
    assert regen.render(codec.read((tmp_path / "r.aigif").read_bytes())).bit_exact


def test_record_eta_and_num_images_per_prompt(regen):
    import aigif
    pipe = _sd1_pipe()
    kw = dict(prompt="a red circle", num_inference_steps=2, generator=torch.Generator().manual_seed(3), regen=regen)
    # the pipeline's own defaults change nothing: accepted
    _, f = aigif.record(pipe, eta=0.0, num_images_per_prompt=1, **kw)
    assert f.model == "tiny-sd1"
    with pytest.raises(AigifError) as e:
        aigif.record(pipe, num_images_per_prompt=2, **kw)
    assert e.value.code == "E_FIELDS" and "one image" in e.value.message and "once per image" in e.value.message
    assert not any(fl.arg == "eta" for fl in REG.family_of("tiny-sd1").fields)  # the sd family cannot hold eta
    with pytest.raises(AigifError) as e:
        aigif.record(pipe, eta=0.5, **kw)
    assert e.value.code == "E_FIELDS" and "eta=0.5" in e.value.message and "sd family has no field" in e.value.message


def test_record_unregistered_local_model(regen, tmp_path):
    """A local diffusers directory the registry does not know: recorded as the family's
    unregistered entry, regenerated through a name mapping; without a local directory, a clear error."""
    import aigif
    mine = _linked_copy(TINY_SD1, tmp_path / "my-model")
    _, f = aigif.record(_sd1_pipe(mine), tmp_path / "u.aigif", prompt="a red circle", num_inference_steps=2,
                        generator=torch.Generator().manual_seed(3), regen=regen)
    assert f.model == "unregistered-sd" and f.model_fields["model_name"] == "my-model"
    from aigif.regen import Regenerator
    r = Regenerator(device="cpu", model_dirs={"name:my-model": mine})
    assert r.render(codec.read((tmp_path / "u.aigif").read_bytes())).bit_exact
    pipe = _sd1_pipe()
    pipe.register_to_config(_name_or_path="someone/not-registered")
    with pytest.raises(AigifError) as e:
        aigif.record(pipe, prompt="x", num_inference_steps=2, generator=torch.Generator().manual_seed(3), regen=regen)
    assert "is not a registered model" in e.value.message and "unregistered-sd" in e.value.message
    assert "scheduler with this configuration" not in e.value.message


def test_readme_python_example_runs(tmp_path):
    """README.md's Python block runs as written (from the repository root: its path to the bundled model)."""
    import re
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) == 1
    (tmp_path / "vectors").symlink_to(ROOT / "vectors")  # the example's files land in tmp_path, not the repo
    r = subprocess.run([sys.executable, "-c", blocks[0]], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    f = codec.read((tmp_path / "cat.aigif").read_bytes())
    assert f.model == "tiny-sd1" and f.prompt == "A cute cat" and (tmp_path / "cat.png").is_file()


# ------------------------------------------------------------------ model directories checked before use
def _load(key, path):
    from aigif.regen import Regenerator, loading
    r = Regenerator(device="cpu", model_dirs=loading.parse_model_dirs([f"{key}={path}"]))
    return r.pipeline(jsonform.new(key, prompt="x", height=64, width=64, seed=1))


def test_model_dir_missing(tmp_path):
    with pytest.raises(AigifError) as e:
        _load("tiny-sd1", tmp_path / "nonexistent")
    assert e.value.code == "E_MODEL_UNAVAILABLE" and "does not exist" in e.value.message


def test_model_dir_single_file_checkpoint(tmp_path):
    ckpt = tmp_path / "model.safetensors"
    ckpt.write_bytes((TINY_SD1 / "unet" / "diffusion_pytorch_model.safetensors").read_bytes())
    with pytest.raises(AigifError) as e:
        _load("tiny-sd1", ckpt)
    assert e.value.code == "E_MODEL_UNAVAILABLE"
    assert "single-file checkpoints are not supported yet" in e.value.message and "diffusers directory" in e.value.message


def test_model_dir_wrong_family(tmp_path):
    d = _linked_copy(TINY_SD1, tmp_path / "edited")
    (d / "model_index.json").unlink()
    index = json.loads((TINY_SD1 / "model_index.json").read_text())
    (d / "model_index.json").write_text(json.dumps({**index, "_class_name": "StableDiffusion3Pipeline"}))
    with pytest.raises(AigifError) as e:
        _load("tiny-sd1", d)
    assert e.value.code == "E_MODEL_UNAVAILABLE"
    assert "StableDiffusion3Pipeline" in e.value.message and "StableDiffusionPipeline" in e.value.message
    with pytest.raises(AigifError) as e:  # an unedited model of another family
        _load("tiny-sdxl", TINY_SD1)
    assert e.value.code == "E_MODEL_UNAVAILABLE"
    assert "StableDiffusionXLPipeline" in e.value.message and "StableDiffusionPipeline" in e.value.message
    (d / "model_index.json").unlink()
    with pytest.raises(AigifError) as e:
        _load("tiny-sd1", d)
    assert e.value.code == "E_MODEL_UNAVAILABLE" and "model_index.json" in e.value.message


def test_model_dir_weights_verified_before_loading(tmp_path, monkeypatch):
    """Registered hashes are checked before diffusers reads the weights."""
    import diffusers
    d = _linked_copy(TINY_SD1, tmp_path / "swapped")
    (d / "vae").unlink()
    (d / "vae").mkdir()
    for child in (TINY_SD1 / "vae").iterdir():
        (d / "vae" / child.name).write_bytes(child.read_bytes())
    w = d / "vae" / "diffusion_pytorch_model.safetensors"
    w.write_bytes(w.read_bytes()[:-1] + bytes([w.read_bytes()[-1] ^ 1]))

    def never(*a, **k):
        raise AssertionError("from_pretrained ran before the weights were verified")
    monkeypatch.setattr(diffusers.StableDiffusionPipeline, "from_pretrained", never)
    with pytest.raises(AigifError) as e:
        _load("tiny-sd1", d)
    assert e.value.code == "E_MODEL_HASH"


def test_model_without_registered_hashes_is_not_bit_exact(regen):
    """sdxl-base-1.0 lists no file hashes: whatever directory it is pointed at, bit-exact is not promised."""
    from aigif.regen.encode import encode_fields
    from aigif.regen.platform import fidelity
    assert not REG.table("models").by_key["sdxl-base-1.0"].get("files")
    _, _, f = encode_fields(fields("tiny-sdxl"), regen)
    assert fidelity(f, regen.platform)[0] == "bit-exact"
    f.model = "sdxl-base-1.0"
    cls, why = fidelity(f, regen.platform)
    assert cls == "unknown" and "no file hashes" in why


def test_work_budget_refuses_a_tiny_file_asking_for_huge_work_before_loading():
    """SPEC.md §16: a 32-byte file must not buy minutes of work or gigabytes of memory."""
    from aigif.jsonform import new
    from aigif.regen import MAX_WORK, Regenerator
    reg = REG
    f = new("tiny-sd1", reg, height=16384, width=16384, seed=1)
    assert len(codec.write(f, reg)) < 64
    regen = Regenerator(device="cpu")
    with pytest.raises(AigifError) as e:
        regen.generate(f)
    assert e.value.code == "E_BUDGET" and "--max-work" in str(e.value)
    assert not regen._pipes  # refused before any model loaded
    f = new("tiny-sd1", reg, height=64, width=64, seed=1, fields={"steps": MAX_WORK // (64 * 64) + 1})
    with pytest.raises(AigifError) as e:
        regen.generate(f)
    assert e.value.code == "E_BUDGET"


def test_time_limit_stops_denoising():
    from aigif.jsonform import new
    from aigif.regen import Regenerator
    reg = REG
    f = new("tiny-sd1", reg, height=64, width=64, seed=1, fields={"steps": 400})
    with pytest.raises(AigifError) as e:
        Regenerator(device="cpu", time_limit=0.05).generate(f)
    assert e.value.code == "E_BUDGET" and "time limit" in str(e.value)


def test_pixel_budget_refuses_a_payload_bomb_before_decoding():
    """A valid file may hold a 16384² PNG payload (805 MB decoded): refused unless the user raises the budget."""
    import io

    from PIL import Image

    from aigif.file import PixelPayload
    from aigif.jsonform import new
    from aigif.regen import Regenerator
    f = new("tiny-sd1", REG, height=4096, width=4096, seed=1)
    buf = io.BytesIO()
    Image.new("RGB", (4096, 4096)).save(buf, "PNG")
    f.pixels = PixelPayload("png", buf.getvalue())
    with pytest.raises(AigifError) as e:
        Regenerator(device="cpu", max_pixels=2048 * 2048).payload_pixels(f)
    assert e.value.code == "E_BUDGET" and "--max-pixels" in str(e.value)
    assert Regenerator(device="cpu").payload_pixels(f).shape == (4096, 4096, 3)
