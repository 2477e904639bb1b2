"""Tests of the AIGIF noise sources (reference/aigif/noise)."""

from __future__ import annotations

import inspect
import json
import math
import random
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from aigif.noise import CPU_KEYS, KEYS, NoiseSource, NoiseStream, NoiseUnavailable, get_source, philox, portable

ROOT = Path(__file__).resolve().parents[1]

np = pytest.importorskip("numpy")

SEEDS = (0, 1, 42, 829557441, 2**32 + 5, 2**64 - 1)


def f32_bits(values) -> list[str]:
    return [f"{struct.unpack('<I', struct.pack('<f', float(v)))[0]:08x}" for v in values]


def flat_np(x):
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x).reshape(-1)


# ---------------------------------------------------------------------------
# interface and lookup
# ---------------------------------------------------------------------------


def test_lookup_keys_and_protocol():
    assert set(KEYS) == {"torch-cpu", "a1111-nv", "torch-cuda", "portable"}
    for key in KEYS:
        src = get_source(key)
        assert src.key == key
        assert isinstance(src, NoiseSource)
    for key in CPU_KEYS:
        stream = get_source(key).stream(7)
        assert isinstance(stream, NoiseStream)
        out = flat_np(stream.normal((2, 3)))
        assert out.dtype == np.float32 and out.size == 6


@pytest.mark.parametrize("key", ["", "TORCH-CPU", "torch", "mt19937", None, 3])
def test_unknown_key_raises_keyerror(key):
    with pytest.raises(KeyError):
        get_source(key)


@pytest.mark.parametrize("key", CPU_KEYS)
def test_seed_range_checked(key):
    src = get_source(key)
    for bad in (-1, 2**64):
        with pytest.raises(ValueError):
            src.stream(bad)
    for bad in (1.0, "1", True):
        with pytest.raises(TypeError):
            src.stream(bad)
    src.stream(0)
    src.stream(2**64 - 1)


@pytest.mark.parametrize("key", CPU_KEYS)
def test_streams_are_reproducible_and_continue(key):
    a = get_source(key).stream(1234)
    b = get_source(key).stream(1234)
    first_a, second_a = flat_np(a.normal((1, 4, 8, 8))), flat_np(a.normal((1, 4, 8, 8)))
    first_b, second_b = flat_np(b.normal((1, 4, 8, 8))), flat_np(b.normal((1, 4, 8, 8)))
    assert first_a.tobytes() == first_b.tobytes()
    assert second_a.tobytes() == second_b.tobytes()
    assert first_a.tobytes() != second_a.tobytes()  # the second draw continues, not restarts


# ---------------------------------------------------------------------------
# Philox4x32-10
# ---------------------------------------------------------------------------

# Random123 kat_vectors (counter[4], key[2] -> output[4])
PHILOX_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("ctr,key,out", PHILOX_KAT)
def test_philox_known_answers(ctr, key, out):
    assert philox.philox4x32(ctr, key) == out
    assert tuple(int(w) for w in philox.philox4x32_np(*ctr, *key)) == out


def test_philox_numpy_matches_python():
    rng = random.Random(5)
    rows = [tuple(rng.getrandbits(32) for _ in range(6)) for _ in range(200)]
    arr = np.array(rows, dtype=np.uint32).T
    got = np.stack(philox.philox4x32_np(*arr)).T
    for row, g in zip(rows, got):
        assert philox.philox4x32(row[:4], row[4:]) == tuple(int(x) for x in g)


# ---------------------------------------------------------------------------
# portable
# ---------------------------------------------------------------------------

# First 8 values of the portable stream (float32 bits); the table of
# SPEC.md Appendix F.3.  Independent of the latent shape.
PORTABLE_FIRST = {
    0: "be82fa50 3f2153b7 3ff51846 3f01cc4f c0042d25 bf89bcdd 3f4c1d40 3e87dc28",
    1: "3f9d2c14 3e5dc2f8 3ee4106a bd7abe99 bf2ec4c0 3f100358 3f32dd39 bf885b60",
    42: "3e92f728 bfb9dfa1 400fe2b3 3d0ece30 3f701df9 3e855a7c 3f1c91ea 3e5f88b6",
    829557441: "3ec16746 bf44a2de bdca67f4 bf0269fc bf864033 bebd1335 bfa7ff0f 3f013c87",
    2**32 + 5: "c034b8aa 3f5b198d bfbe1b04 bf6f3114 bf951843 bebf5f3f bf6643c9 bf6fe55a",
    2**64 - 1: "be06505a 3e9f3a25 bfa2eb14 3e944b3a bfaa9026 3f9a2663 3e128084 bed21a11",
}


def test_portable_first_values_pure_python_in_subprocess():
    """Recompute the spec's first values with neither numpy nor torch importable."""
    code = f"""
import sys, json
sys.modules['numpy'] = None
sys.modules['torch'] = None
from aigif.noise import get_source
from aigif.noise.portable import float32_bits
out = {{}}
for seed in {list(PORTABLE_FIRST)!r}:
    vals = get_source('portable').stream(seed).normal_list(8)
    out[str(seed)] = ' '.join('%08x' % float32_bits(v) for v in vals)
assert 'numpy' not in sys.modules or sys.modules['numpy'] is None
print(json.dumps(out))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got == {str(k): v for k, v in PORTABLE_FIRST.items()}


@pytest.mark.parametrize("seed", SEEDS)
def test_portable_numpy_path_matches_table(seed):
    vals = get_source("portable").stream(seed).normal((1, 4, 64, 64))
    assert vals.dtype == np.float32 and vals.shape == (1, 4, 64, 64)
    assert " ".join(f32_bits(vals.reshape(-1)[:8])) == PORTABLE_FIRST[seed]


@pytest.mark.parametrize("seed", [0, 3, 2**32 + 5, 2**64 - 1])
def test_portable_numpy_equals_python_bit_for_bit(seed):
    a = get_source("portable").stream(seed, backend="python")
    b = get_source("portable").stream(seed, backend="numpy")
    # odd-sized draws exercise continuing in the middle of a Philox block
    for shape in [(3,), (1, 4, 5, 7), (2,), (1, 1, 33, 31)]:
        x, y = a.normal(shape), b.normal(shape)
        assert x.shape == y.shape == shape
        assert x.tobytes() == y.tobytes()


def test_portable_continuation_is_partition_independent():
    whole = get_source("portable").stream(99).normal((1000,))
    s = get_source("portable").stream(99)
    parts = [s.normal((n,)) for n in (1, 2, 3, 5, 0, 489, 500)]
    assert np.concatenate(parts).tobytes() == whole.tobytes()
    assert s.position == 1000


def test_portable_random_access():
    seed = 2**40 + 17
    for n in (0, 1, 2, 3, 12345, 2**33 + 1, 2**64 + 7, 2**65 - 1):
        got = portable.values_np(seed, n, 1)[0]
        assert f32_bits([got]) == f32_bits([portable.value(seed, n)])


def test_portable_uniform_conversion():
    assert portable.uniform52(0, 0) == 2.0**-53
    assert portable.uniform52(0xFFFFFFFF, 0xFFFFFFFF) == 1.0 - 2.0**-53
    assert portable.uniform52(0x80000000, 0) == 0.5 + 2.0**-53
    # symmetric: complementing the 52 bits mirrors u around 1/2
    rng = random.Random(1)
    for _ in range(1000):
        a, b = rng.getrandbits(32), rng.getrandbits(32)
        u = portable.uniform52(a, b)
        assert 0.0 < u < 1.0
        assert portable.uniform52(a ^ 0xFFFFFFFF, b ^ 0xFFFFF000) == 1.0 - u
    a = np.array([0, 0xFFFFFFFF, 123456789], dtype=np.uint32)
    b = np.array([0, 0xFFFFFFFF, 987654321], dtype=np.uint32)
    assert portable.uniform52_np(a, b).tolist() == [portable.uniform52(int(x), int(y)) for x, y in zip(a, b)]


def test_as241_coefficients_match_cpython_statistics():
    """CPython's statistics module implements the same published AS241."""
    import statistics

    try:
        src = inspect.getsource(statistics)
    except OSError:  # pragma: no cover - stdlib sources not shipped
        pytest.skip("no stdlib source")
    body = src[src.find("def _normal_dist_inv_cdf"):]
    body = body[:body.find("\n\n\n")]
    nums = [float(s) for s in re.findall(r"\d\.[\d_]+e[+-]\d+", body)]
    mine = []
    for coef in (portable.AS241_A, portable.AS241_B[:-1], portable.AS241_C,
                 portable.AS241_D[:-1], portable.AS241_E, portable.AS241_F[:-1]):
        mine.extend(coef)
    assert nums == mine


def _u_samples():
    rng = random.Random(7)
    ks = [0, 1, 2, 2**52 - 1, 2**52 - 2, 2**51, 2**51 - 1, 2**40, 2**30, 12345]
    # around the central/tail split |u - 1/2| = 0.425 and the r = 5 split
    for centre in (0.075, 0.925, math.exp(-25.0), 1 - math.exp(-25.0)):
        k = int(centre * 2**52)
        ks.extend(range(max(0, k - 3), min(2**52, k + 4)))
    ks.extend(rng.getrandbits(52) for _ in range(3000))
    ks.extend(rng.getrandbits(rng.randint(1, 40)) for _ in range(2000))  # deep lower tail
    ks.extend(2**52 - 1 - rng.getrandbits(rng.randint(1, 40)) for _ in range(2000))  # upper tail
    return [float(2 * k + 1) * 2.0**-53 for k in ks]


def test_ppnd_numpy_equals_python_and_is_accurate():
    from statistics import NormalDist

    us = _u_samples()
    pure = [portable.ppnd(u) for u in us]
    vec = portable.ppnd_np(np.array(us))
    assert np.array(pure).tobytes() == vec.tobytes()
    nd = NormalDist()
    for u, x in zip(us, pure):
        ref = nd.inv_cdf(u)
        assert abs(x - ref) <= 1e-14 * max(1.0, abs(ref))
    # the far tail (r > 5) is reached
    assert min(pure) < -6.0 and max(pure) > 6.0


def test_plog_numpy_equals_python_and_is_accurate():
    rng = random.Random(3)
    xs = [2.0**-53, 2.0**-1074 * 2**52, 0.075, 0.5, 1.0, math.sqrt(0.5), 2.0**0.5, 1e-300, 7.0]
    xs += [rng.random() for _ in range(5000)]
    xs += [rng.random() * 2.0 ** -rng.randint(1, 60) for _ in range(5000)]
    pure = [portable.plog(x) for x in xs]
    assert np.array(pure).tobytes() == portable.plog_np(np.array(xs)).tobytes()
    for x, y in zip(xs, pure):
        ref = math.log(x)
        assert abs(y - ref) <= 2 * math.ulp(ref), x
    assert portable.plog(1.0) == 0.0


def test_float32_rounding_is_nearest_even():
    one = 1.0
    half_ulp = 2.0**-24
    assert portable.to_float32(one + half_ulp) == 1.0  # tie -> even
    assert portable.to_float32(one + 3 * half_ulp) == 1.0 + 2 * 2.0**-23  # tie -> even (up)
    assert portable.to_float32(one + half_ulp * 1.5) == 1.0 + 2.0**-23
    for x in (0.1, -2.7, 1e-30, 3.4e38):
        assert portable.to_float32(x) == float(np.float32(x))


def test_portable_statistics():
    x = get_source("portable").stream(2024).normal((200_000,)).astype(np.float64)
    assert abs(x.mean()) < 0.01
    assert abs(x.std() - 1.0) < 0.01
    assert abs((np.abs(x) > 1.959964).mean() - 0.05) < 0.003


def test_portable_seed_halves_are_both_used():
    a = get_source("portable").stream(5).normal((16,))
    b = get_source("portable").stream(2**32 + 5).normal((16,))
    c = get_source("portable").stream(5 << 32).normal((16,))
    assert a.tobytes() != b.tobytes() and a.tobytes() != c.tobytes() and b.tobytes() != c.tobytes()


# ---------------------------------------------------------------------------
# a1111-nv
# ---------------------------------------------------------------------------

# The "Expected output" of Generator(seed=0).randn((3, 4)) in the docstring of
# AUTOMATIC1111 stable-diffusion-webui modules/rng_philox.py (printed to 8 digits).
A1111_DOC_SEED0 = [
    -0.92466259, -0.42534415, -2.6438457, 0.14518388,
    -0.12086647, -0.57972564, -0.62285122, -0.32838709,
    -1.07454231, -0.36314407, -1.67105067, 2.26550497,
]

A1111_FIRST = {
    0: "bf6cb6ad bed9c6af c02934c5 3e14ab15 bdf788dc bf1468e7 bf1f732f bea8225c",
    42: "3e46ace2 400a53f3 be302e20 3f595bff bff652b7 3f272a0b bf2641c5 bf51494a",
    2**64 - 1: "3f21de90 3d093850 3f56ce73 c0040fdd 3fa3f149 bf9299f9 3f393856 be361eb4",
}


def test_a1111_nv_matches_a1111_docstring():
    got = get_source("a1111-nv").stream(0).normal((3, 4))
    assert got.dtype == np.float32 and got.shape == (3, 4)
    np.testing.assert_allclose(got.reshape(-1), A1111_DOC_SEED0, rtol=0, atol=5e-7)


@pytest.mark.parametrize("seed", sorted(A1111_FIRST))
def test_a1111_nv_first_values(seed):
    vals = get_source("a1111-nv").stream(seed).normal((1, 4, 64, 64))
    assert " ".join(f32_bits(vals.reshape(-1)[:8])) == A1111_FIRST[seed]


def test_a1111_nv_structure():
    """Element i of call t is Box-Muller(sin) of Philox(counter=(t,0,i,0), key=seed halves)."""
    from aigif.noise.a1111_nv import box_muller_sin

    seed = 2**32 * 7 + 11
    s = get_source("a1111-nv").stream(seed)
    first, second = s.normal((2, 5)), s.normal((7,))
    for t, out in ((0, first), (1, second)):
        for i, v in enumerate(out.reshape(-1)):
            w = philox.philox4x32((t, 0, i, 0), (11, 7))
            assert box_muller_sin(np.uint32(w[0]), np.uint32(w[1])) == v
    # values do not depend on the shape, only on the element index
    assert get_source("a1111-nv").stream(seed).normal((10,)).tobytes() == first.tobytes()
    # the high seed word matters (A1111 keys Philox with the full 64-bit seed)
    assert get_source("a1111-nv").stream(11).normal((10,)).tobytes() != first.tobytes()


# ---------------------------------------------------------------------------
# torch-cpu
# ---------------------------------------------------------------------------


def test_torch_cpu_is_diffusers_generator_path():
    torch = pytest.importorskip("torch")
    randn_tensor = pytest.importorskip("diffusers.utils.torch_utils").randn_tensor

    for seed in SEEDS:
        g = torch.Generator("cpu").manual_seed(seed)
        s = get_source("torch-cpu").stream(seed)
        for shape in [(1, 4, 8, 8), (1, 4, 8, 8), (5,), (1, 16, 9, 7)]:
            ref = randn_tensor(shape, generator=g, device=torch.device("cpu"), dtype=torch.float32)
            got = s.normal(shape)
            assert got.dtype == torch.float32 and tuple(got.shape) == shape
            assert torch.equal(got, ref)


def test_torch_cpu_half_precision_follows_torch():
    torch = pytest.importorskip("torch")
    shape = (1, 4, 5, 5)  # 100 elements: not a multiple of 16
    ref = torch.randn(shape, generator=torch.Generator().manual_seed(3), dtype=torch.float16)
    got = get_source("torch-cpu").stream(3).normal(shape, dtype=torch.float16)
    assert torch.equal(got, ref)


@pytest.mark.parametrize("seed", [0, 5, 42, 2**32 - 1])
def test_torch_cpu_ignores_upper_32_seed_bits(seed):
    """Measured: torch's CPU mt19937 is seeded from the low 32 bits only."""
    base = get_source("torch-cpu").stream(seed).normal((1, 4, 8, 8))
    for high in (1, 2**31 + 3, 2**32 - 1):
        other = get_source("torch-cpu").stream(seed + (high << 32)).normal((1, 4, 8, 8))
        assert base.numpy().tobytes() == other.numpy().tobytes()
    small = get_source("torch-cpu").stream(seed).normal((7,))
    assert small.numpy().tobytes() == get_source("torch-cpu").stream(seed + 2**32).normal((7,)).numpy().tobytes()


# ---------------------------------------------------------------------------
# torch-cuda
# ---------------------------------------------------------------------------


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def test_torch_cuda_importable_and_clear_error_without_gpu():
    src = get_source("torch-cuda")
    assert src.key == "torch-cuda"
    if _has_cuda():
        pytest.skip("a GPU is present")
    with pytest.raises(NoiseUnavailable, match="GPU"):
        src.stream(0)


@pytest.mark.skipif(not _has_cuda(), reason="needs CUDA")
def test_torch_cuda_is_torch_randn_on_cuda():
    import torch

    for seed in SEEDS:
        g = torch.Generator("cuda").manual_seed(seed)
        s = get_source("torch-cuda").stream(seed)
        for shape in [(1, 4, 64, 64), (1, 4, 64, 64)]:
            ref = torch.randn(shape, generator=g, device="cuda", dtype=torch.float32)
            got = s.normal(shape)
            assert got.device.type == "cuda" and torch.equal(got, ref)
    a = get_source("torch-cuda").stream(5).normal((64,))
    b = get_source("torch-cuda").stream(5 + 2**32).normal((64,))
    assert not torch.equal(a, b)  # the full 64-bit seed is the Philox key


@pytest.mark.skipif(not _has_cuda(), reason="needs CUDA")
def test_a1111_nv_emulates_torch_cuda():
    """Near equality (a few float32 ulps) between the CPU emulation and CUDA."""
    for seed in SEEDS:
        cuda = get_source("torch-cuda").stream(seed)
        nv = get_source("a1111-nv").stream(seed)
        for _ in range(3):  # the initial latent and two sampler steps
            c = cuda.normal((1, 4, 64, 64)).cpu().numpy()
            n = nv.normal((1, 4, 64, 64))
            np.testing.assert_allclose(n, c, rtol=0, atol=2e-5)


# ---------------------------------------------------------------------------
# diffusers injection
# ---------------------------------------------------------------------------


def _tiny_tokenizer(tmp_path):
    from transformers import CLIPTokenizer

    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in letters:
        vocab[ch] = len(vocab)
    for ch in letters:
        vocab[ch + "</w>"] = len(vocab)
    merges = ["#version: 0.2"]
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "merges.txt").write_text("\n".join(merges) + "\n")
    return CLIPTokenizer(vocab=str(tmp_path / "vocab.json"), merges=str(tmp_path / "merges.txt"),
                         model_max_length=16)


@pytest.fixture(scope="module")
def tiny_pipe(tmp_path_factory):
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    transformers = pytest.importorskip("transformers")
    tmp = tmp_path_factory.mktemp("tok")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads only add contention
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, norm_num_groups=4, attention_head_dim=4)
    vae = diffusers.AutoencoderKL(
        block_out_channels=(8, 16), in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4, norm_num_groups=4)
    text_encoder = transformers.CLIPTextModel(transformers.CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=16, intermediate_size=32,
        num_attention_heads=2, num_hidden_layers=1, vocab_size=64, max_position_embeddings=16))
    pipe = diffusers.StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=_tiny_tokenizer(tmp), unet=unet,
        scheduler=diffusers.EulerAncestralDiscreteScheduler(), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    yield pipe
    torch.set_num_threads(threads)


def _run(pipe, **kw):
    return pipe("a cat", height=16, width=16, num_inference_steps=3, guidance_scale=2.0,
                output_type="np", **kw).images


@pytest.mark.parametrize("scheduler", ["EulerAncestralDiscreteScheduler", "DDIMScheduler"])
def test_injection_torch_cpu_is_bit_identical_to_generator(tiny_pipe, scheduler):
    import diffusers
    import torch

    from aigif.noise.inject import use_noise

    cls = getattr(diffusers, scheduler)
    kw = {"eta": 1.0} if scheduler == "DDIMScheduler" else {}  # DDIM with eta draws step noise too
    tiny_pipe.scheduler = cls.from_config(tiny_pipe.scheduler.config)
    for seed in (0, 829557441):
        ref = _run(tiny_pipe, generator=torch.Generator("cpu").manual_seed(seed), **kw)
        with use_noise(get_source("torch-cpu").stream(seed)) as inj:
            got = _run(tiny_pipe, **kw)
        assert inj.draws == [(1, 4, 8, 8)] * 4  # initial latent + one per step
        assert got.dtype == ref.dtype and np.array_equal(got, ref)
        # a different seed really changes the picture
        with use_noise(get_source("torch-cpu").stream(seed + 1)):
            other = _run(tiny_pipe, **kw)
        assert not np.array_equal(other, ref)
    tiny_pipe.scheduler = diffusers.EulerAncestralDiscreteScheduler.from_config(tiny_pipe.scheduler.config)


def test_injection_portable_and_restoration(tiny_pipe):
    import diffusers
    import diffusers.schedulers.scheduling_euler_ancestral_discrete as ea
    import diffusers.utils.torch_utils as tu

    from aigif.noise.inject import initial_latent, use_noise

    original = tu.randn_tensor
    with use_noise(get_source("portable").stream(42)) as inj:
        assert ea.randn_tensor is not original and tu.randn_tensor is not original
        a = _run(tiny_pipe)
    assert ea.randn_tensor is original and tu.randn_tensor is original
    assert inj.draws == [(1, 4, 8, 8)] * 4
    with use_noise(get_source("portable").stream(42)):
        b = _run(tiny_pipe)
    assert np.array_equal(a, b)
    # passing the initial latent explicitly gives the same image
    s = get_source("portable").stream(42)
    lat = initial_latent(s, (1, 4, 8, 8))
    assert lat.numpy().tobytes() == get_source("portable").stream(42).normal((1, 4, 8, 8)).tobytes()
    with use_noise(s) as inj2:
        c = _run(tiny_pipe, latents=lat)
    assert inj2.draws == [(1, 4, 8, 8)] * 3
    assert np.array_equal(a, c)
    for name, mod in list(sys.modules.items()):
        if name.startswith("diffusers") and mod is not None:
            assert not getattr(getattr(mod, "randn_tensor", None), "__aigif_noise__", False), name
    assert diffusers.utils.torch_utils.randn_tensor is original


def test_injection_restores_on_error_and_converts_dtype():
    torch = pytest.importorskip("torch")
    tu = pytest.importorskip("diffusers.utils.torch_utils")

    from aigif.noise.inject import use_noise

    original = tu.randn_tensor
    with pytest.raises(RuntimeError):
        with use_noise(get_source("a1111-nv").stream(0)):
            x = tu.randn_tensor((3, 4), dtype=torch.float16)
            assert x.dtype == torch.float16
            ref = torch.from_numpy(get_source("a1111-nv").stream(0).normal((3, 4))).half()
            assert torch.equal(x, ref)
            raise RuntimeError("boom")
    assert tu.randn_tensor is original


# ---------------------------------------------------------------------------
# tools/noise_table.py and SPEC.md Appendix F
# ---------------------------------------------------------------------------


def test_noise_table_tool_and_spec_agree():
    from tools import noise_table
    text = noise_table.table("portable", (1, 4, 64, 64), 8)
    for seed, bits in PORTABLE_FIRST.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {noise_table.seed_label(seed)} |"))
        assert bits in row
    spec_text = (ROOT / "SPEC.md").read_text(encoding="utf-8")
    for bits in PORTABLE_FIRST.values():
        assert bits in spec_text
