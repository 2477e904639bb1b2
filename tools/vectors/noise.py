"""Noise vectors: the first values of the initial latent of each noise source
(SPEC.md §12.5, Appendix F) as float32 bit patterns. The CPU sources are
drawn while building; ``torch-cuda`` needs a GPU, so its values are measured
once (``python -m tools.vectors --measure-cuda`` on a GPU machine) into
``conformance/tolerances/noise-torch-cuda.json`` and carried over."""
from __future__ import annotations

import json
import sys

from .common import ROOT, BuildError, Vectors, dumps

NOISE_SEEDS = [0, 1, 42, 829557441, 2**32 - 1, 2**32, 2**32 + 5, 2**64 - 1]
NOISE_SHAPES = [(1, 4, 64, 64), (1, 4, 8, 8), (1, 4, 1, 3), (1, 4, 128, 128), (1, 16, 128, 128), (1, 32, 32, 32)]
NOISE_COUNT = 64
CUDA_NOISE_FILE = ROOT / "conformance" / "tolerances" / "noise-torch-cuda.json"
# What the torch-cuda vectors say of where their values come from: the text they were built with (the file was
# conformance/noise-torch-cuda.json then), kept so that every vector keeps its bytes.
CUDA_PROVENANCE = "on a GPU, carried over from conformance/noise-torch-cuda.json"


def jobs() -> list[tuple[int, tuple]]:
    """(seed, shape): every seed at the first shape, seed 42 at the others."""
    return [(s, NOISE_SHAPES[0]) for s in NOISE_SEEDS] + [(42, sh) for sh in NOISE_SHAPES[1:]]


def count_of(shape: tuple) -> int:
    return min(NOISE_COUNT, shape[1] * shape[2] * shape[3])


def add_noise(vs: Vectors, source: str, seed: int, shape: tuple, count: int, values: list[str], generator: dict) -> None:
    name = f"{source}-seed-{seed}-{'x'.join(map(str, shape))}"
    doc = {"source": source, "seed": seed, "shape": list(shape), "count": count, "values": values, "generator": generator}
    vs.add("noise", name, f"first {count} float32 values of the initial latent {tuple(shape)} of {source} with seed {seed}",
           {"expected": (f"{name}.json", dumps(doc))})


def build_noise(vs: Vectors) -> None:
    from aigif import noise
    from aigif.refdecoder import noise_values
    for key in noise.CPU_KEYS:
        gen = {"implementation": f"aigif.noise.get_source({key!r}).stream(seed).normal(shape)"}
        if key == "torch-cpu":
            import torch
            gen["torch"] = torch.__version__.split("+")[0]
        for seed, shape in jobs():
            add_noise(vs, key, seed, shape, count_of(shape), noise_values(key, seed, count_of(shape), shape), gen)
    for key in [k for k in noise.KEYS if k not in noise.CPU_KEYS]:
        if key != "torch-cuda" or not CUDA_NOISE_FILE.is_file():
            raise BuildError(f"noise source {key} needs a GPU and has no measured values (--measure-cuda, {CUDA_NOISE_FILE.name})")
        measured = json.loads(CUDA_NOISE_FILE.read_text())
        w = measured["measured_with"]
        gen = {"implementation": "aigif.noise.get_source('torch-cuda').stream(seed).normal(shape)",
               "torch": w["torch"].split("+")[0], "cuda": w["cuda"], "gpu": w["gpu"], "measured": CUDA_PROVENANCE}
        for m in measured["vectors"]:
            add_noise(vs, key, m["seed"], tuple(m["shape"]), m["count"], m["values"], gen)


def measure_cuda() -> int:
    """Measure the torch-cuda noise values on this machine's GPU (twice, to
    check they repeat) into CUDA_NOISE_FILE."""
    import torch

    from aigif.refdecoder import noise_values
    if not torch.cuda.is_available():
        print("tools.vectors: --measure-cuda needs an NVIDIA GPU", file=sys.stderr)
        return 2
    vectors = []
    for seed, shape in jobs():
        v = noise_values("torch-cuda", seed, count_of(shape), shape)
        if v != noise_values("torch-cuda", seed, count_of(shape), shape):
            raise BuildError(f"torch-cuda values for seed {seed} do not repeat")
        vectors.append({"seed": seed, "shape": list(shape), "count": count_of(shape), "values": v})
    doc = {"_comment": json.loads(CUDA_NOISE_FILE.read_text())["_comment"] if CUDA_NOISE_FILE.is_file() else "",
           "measured_with": {"torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0),
                             "implementation": "aigif.refdecoder.noise_values('torch-cuda', seed, count, shape)", "repeated": 2},
           "vectors": vectors}
    CUDA_NOISE_FILE.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{CUDA_NOISE_FILE}: {len(vectors)} measurements")
    return 0
