"""Model directories checked before use (SPEC.md §5.3, §12.2, §16): the registry hashes every
file that decides the image, the loader loads exactly the bytes it hashed, a directory of
another model of the family is refused by name, and an edited config cannot buy an allocation."""
import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from aigif import jsonform  # noqa: E402
from aigif.errors import AigifError  # noqa: E402
from aigif.fsutil import sha256_file  # noqa: E402
from aigif.regen import modelfiles  # noqa: E402
from aigif.registry import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REG = load()
TINY = {m["key"]: ROOT / m["source"]["local"] for m in REG.table("models").entries if m.get("status") == "conformance"}
TINY_SD1 = TINY["tiny-sd1"]


def _load(key, path, **fields):
    from aigif.regen import Regenerator, loading
    r = Regenerator(device="cpu", model_dirs=loading.parse_model_dirs([f"{key}={path}"]))
    return r.pipeline(jsonform.new(key, prompt="x", height=64, width=64, seed=1, **fields))


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture
def never_loads(monkeypatch):
    """Fail if any pipeline or component is built from disk: the check must come first."""
    def never(*a, **k):
        raise AssertionError("from_pretrained ran before the directory was refused")
    for name in ("StableDiffusionPipeline", "StableDiffusionXLPipeline", "StableDiffusion3Pipeline"):
        monkeypatch.setattr(getattr(diffusers, name), "from_pretrained", never)


# ------------------------------------------------------------------ the registry lists every file
@pytest.mark.parametrize("key", sorted(TINY))
def test_registry_lists_every_file_that_decides_the_image(key):
    entry = REG.table("models").by_key[key]
    d = TINY[key]
    on_disk = {p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file() and p.name != "aigif-model.json"}
    listed = {f["file"]: f for f in entry["files"]}
    assert set(listed) == on_disk
    for rel in ("model_index.json", "scheduler/scheduler_config.json", "tokenizer/tokenizer.json", "vae/config.json"):
        assert rel in listed, rel  # configs and tokenizer files, not the weights alone
    for rel, f in listed.items():
        assert sha256_file(d / rel) == f["sha256"] and (d / rel).stat().st_size == f["bytes"], rel
    assert modelfiles.manifest_sha256(entry["files"]) == entry["manifest_sha256"]
    assert "weights" not in entry  # one list, not two


def test_manifest_digest_is_sha256sum_of_the_sorted_list():
    files = REG.table("models").by_key["tiny-sd1"]["files"]
    lines = "".join(f"{f['sha256']}  {f['file']}\n" for f in sorted(files, key=lambda f: f["file"].encode()))
    import hashlib
    assert modelfiles.manifest_sha256(files) == hashlib.sha256(lines.encode()).hexdigest()


def test_sync_tool_finds_the_registry_up_to_date():
    r = subprocess.run([sys.executable, "-m", "tools.sync_model_registry", "--check"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


# ------------------------------------------------------------------ configs are hashed too
def test_swapped_scheduler_config_is_E_MODEL_HASH(tmp_path, never_loads):
    """Issue 21: a swapped scheduler config gave 4.8 dB and no error; it is a file that decides the image."""
    d = _copy(TINY_SD1, tmp_path / "swapped")
    cfg = json.loads((d / "scheduler" / "scheduler_config.json").read_text())
    cfg["timestep_spacing"] = "leading"
    (d / "scheduler" / "scheduler_config.json").write_text(json.dumps(cfg))
    with pytest.raises(AigifError) as e:
        _load("tiny-sd1", d)
    assert e.value.code == "E_MODEL_HASH" and "scheduler/scheduler_config.json" in e.value.message


@pytest.mark.parametrize("rel", ["tokenizer/vocab.json", "model_index.json", "text_encoder/config.json"])
def test_any_changed_config_or_tokenizer_file_is_E_MODEL_HASH(tmp_path, never_loads, rel):
    d = _copy(TINY_SD1, tmp_path / "edited")
    p = d / rel
    p.write_bytes(p.read_bytes().replace(b"\n", b"\n ", 1) if b"\n" in p.read_bytes() else p.read_bytes() + b" ")
    with pytest.raises(AigifError) as e:
        _load("tiny-sd1", d)
    assert e.value.code == "E_MODEL_HASH" and rel in e.value.message


def test_missing_listed_file_is_named(tmp_path, never_loads):
    d = _copy(TINY_SD1, tmp_path / "partial")
    (d / "tokenizer" / "merges.txt").unlink()
    with pytest.raises(AigifError) as e:
        _load("tiny-sd1", d)
    assert e.value.code == "E_MODEL_UNAVAILABLE" and "tokenizer/merges.txt" in e.value.message


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _huge_unet(d: Path) -> None:
    cfg = json.loads((d / "unet" / "config.json").read_text())
    cfg["block_out_channels"] = [32768, 65536]  # ~60 GB of float32 parameters
    (d / "unet" / "config.json").write_text(json.dumps(cfg))


def test_edited_unet_config_of_a_registered_model_is_refused_before_allocation(tmp_path, never_loads):
    d = _copy(TINY_SD1, tmp_path / "huge")
    _huge_unet(d)
    before = _peak_rss_mib()
    with pytest.raises(AigifError) as e:
        _load("tiny-sd1", d)
    # the architecture facts are compared before the hashes: the message says which value differs
    assert e.value.code == "E_MODEL_UNAVAILABLE" and "unet/config.json" in e.value.message
    assert "is not tiny-sd1" in e.value.message and "block_out_channels" in e.value.message
    assert _peak_rss_mib() - before < 512
    cfg = json.loads((d / "unet" / "config.json").read_text())  # an edit the facts do not cover: the hash
    (d / "unet" / "config.json").write_text(json.dumps({**cfg, "block_out_channels": [32, 64], "layers_per_block": 200}))
    with pytest.raises(AigifError) as e:
        _load("tiny-sd1", d)
    assert e.value.code == "E_MODEL_HASH" and "unet/config.json" in e.value.message


def test_edited_unet_config_of_an_unregistered_model_is_E_BUDGET_before_allocation(tmp_path, never_loads):
    """Without registered hashes the config is bounded by what its weight files hold (SPEC.md §16)."""
    d = _copy(TINY_SD1, tmp_path / "my-finetune")
    _huge_unet(d)
    before = _peak_rss_mib()
    with pytest.raises(AigifError) as e:
        _load_unregistered(d, "my-finetune")
    assert e.value.code == "E_BUDGET" and "unet/config.json" in e.value.message and "refused before allocating" in e.value.message
    assert _peak_rss_mib() - before < 512


@pytest.mark.parametrize("edit,where", [({"layers_per_block": 1_000_000}, "layers_per_block"),
                                         ({"block_out_channels": [32] * 1000}, "block_out_channels"),
                                         ({"cross_attention_dim": 1 << 40}, "cross_attention_dim")])
def test_config_shape_bounds_come_before_building_anything(tmp_path, never_loads, edit, where):
    d = _copy(TINY_SD1, tmp_path / "odd")
    cfg = json.loads((d / "unet" / "config.json").read_text())
    (d / "unet" / "config.json").write_text(json.dumps({**cfg, **edit}))
    with pytest.raises(AigifError) as e:
        _load_unregistered(d, "odd")
    assert e.value.code == "E_BUDGET" and where in e.value.message


def test_scheduler_config_bounded(tmp_path, never_loads):
    d = _copy(TINY_SD1, tmp_path / "sched")
    cfg = json.loads((d / "scheduler" / "scheduler_config.json").read_text())
    cfg.pop("trained_betas")
    cfg["num_train_timesteps"] = 10**9  # 4 GB of betas
    (d / "scheduler" / "scheduler_config.json").write_text(json.dumps(cfg))
    with pytest.raises(AigifError) as e:
        _load_unregistered(d, "sched")
    assert e.value.code == "E_BUDGET" and "num_train_timesteps" in e.value.message


def _load_unregistered(d: Path, name: str, family: str = "sd"):
    from aigif.regen import Regenerator
    r = Regenerator(device="cpu", model_dirs={f"name:{name}": d})
    f = jsonform.new(f"unregistered-{family}", prompt="x", height=64, width=64, seed=1,
                     model_fields={"model_name": name, "weights_hash": ""})
    return r.pipeline(f)


@pytest.mark.parametrize("key,family", [("tiny-sd1", "sd"), ("tiny-sdxl", "sdxl"), ("tiny-flow", "sd3")])
def test_unedited_unregistered_models_pass_the_bounds(tmp_path, key, family):
    """No false alarm: each model's configs describe exactly what its weights hold."""
    d = tmp_path / key
    d.mkdir()
    for child in TINY[key].iterdir():
        (d / child.name).symlink_to(child)
    pipe, _ = _load_unregistered(d, key, family)
    assert type(pipe).__name__ == REG.family_of(f"unregistered-{family}").raw["pipeline"]


# ------------------------------------------------------------------ load what was hashed
def test_a_file_changed_after_it_was_hashed_is_not_used(tmp_path, monkeypatch):
    """The race of issue 21: files were hashed, then reopened by diffusers. Now diffusers loads a
    private copy of the bytes that were hashed; changing the user's files at the moment diffusers
    starts (after every check) changes nothing, and a file added to the directory is not read."""
    from safetensors.torch import load_file
    d = _copy(TINY_SD1, tmp_path / "racy")
    (d / "tokenizer" / "added_tokens.json").write_text('{"zzz": 999}')  # not a registered file: never staged
    pristine_vae = load_file(str(TINY_SD1 / "vae" / "diffusion_pytorch_model.safetensors"))
    real = diffusers.StableDiffusionPipeline.from_pretrained.__func__
    seen = {}

    def racing(cls, where, *a, **k):
        seen["dir"] = Path(where)
        seen["files"] = sorted(p.relative_to(where).as_posix() for p in Path(where).rglob("*") if p.is_file())
        cfg = json.loads((d / "scheduler" / "scheduler_config.json").read_text())
        (d / "scheduler" / "scheduler_config.json").write_text(json.dumps({**cfg, "beta_end": 0.5}))
        w = d / "vae" / "diffusion_pytorch_model.safetensors"
        data = bytearray(w.read_bytes())
        data[-4:] = b"\x00\x00\x80\x7f"  # the last float becomes +inf
        w.write_bytes(bytes(data))
        return real(cls, where, *a, **k)
    monkeypatch.setattr(diffusers.StableDiffusionPipeline, "from_pretrained", classmethod(racing))
    pipe, _ = _load("tiny-sd1", d, dtype="float32")
    assert not str(seen["dir"]).startswith(str(d))  # not the user's directory
    assert seen["files"] == sorted(f["file"] for f in REG.table("models").by_key["tiny-sd1"]["files"])
    assert pipe.scheduler.config.beta_end == 0.012  # the bytes that were hashed
    for name, t in pipe.vae.state_dict().items():
        assert torch.equal(t, pristine_vae[name]), name
    assert not seen["dir"].exists()  # the private copy is removed once loaded
    assert pipe.config._name_or_path == str(d)  # and the pipeline says where it came from


def test_staged_directory_is_private(tmp_path):
    with modelfiles.private_dir() as tmp:
        assert (Path(tmp).stat().st_mode & 0o077) == 0


# ------------------------------------------------------------------ the right model of the family (issue 16)
@pytest.mark.parametrize("key,path,value", [("sdxl-base-1.0", "tiny-sdxl", "block_out_channels"),
                                            ("sd-1.5", "tiny-sd1", "sample_size"),
                                            ("sd3-medium", "tiny-flow", "sample_size")])
def test_a_directory_of_another_model_of_the_family_is_refused_by_name(key, path, value, never_loads):
    import time
    t = time.perf_counter()
    with pytest.raises(AigifError) as e:
        _load(key, TINY[path])
    assert e.value.code == "E_MODEL_UNAVAILABLE"
    msg = e.value.message
    assert f"is not {key}" in msg and value in msg and "\n" not in msg
    assert time.perf_counter() - t < 30  # refused at once, not after minutes of loading


def test_registered_real_models_record_architecture_facts():
    for key in ("sd-1.5", "sd-2.1", "sdxl-base-1.0", "sd3-medium", "flux.1-dev"):
        m = REG.table("models").by_key[key]
        assert m.get("architecture"), key
        assert any("https://" in n for n in m.get("notes", [])), key  # where the values come from
        assert not m.get("files")  # no published hashes were found: none is recorded


def test_component_class_of_another_family_is_refused(tmp_path, never_loads):
    d = tmp_path / "mixed"
    d.mkdir()
    for child in TINY_SD1.iterdir():
        if child.name != "model_index.json":
            (d / child.name).symlink_to(child)
    index = json.loads((TINY_SD1 / "model_index.json").read_text())
    (d / "model_index.json").write_text(json.dumps({**index, "unet": ["diffusers", "UNet2DModel"]}))
    with pytest.raises(AigifError) as e:
        _load_unregistered(d, "mixed")
    assert e.value.code == "E_MODEL_UNAVAILABLE" and "UNet2DModel" in e.value.message
