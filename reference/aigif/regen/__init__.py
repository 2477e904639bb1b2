"""The regenerator (SPEC.md §12): a file in, its image out.

One :class:`Regenerator` keeps loaded pipelines, so a batch of files with the
same model pays for one load. Imports torch and diffusers: install the
``regen`` extra.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import codec
from ..errors import AigifError
from ..file import AigifFile
from ..registry import Registry, load
from . import conditioning, loading, pixels, resources
from .arguments import pipeline_kwargs
from .platform import Platform, current, fidelity

# cuBLAS needs this before CUDA starts for deterministic algorithms (SPEC.md §12.4).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
# Offline always: a decoder never downloads unless the user does it (SPEC.md §12.2).
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _quiet_libraries() -> None:
    """Library chatter (deprecations, loading bars) would drown our one-line reports."""
    import warnings

    import diffusers
    import transformers
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(diffusers|transformers)\.")


@dataclass
class Result:
    pixels: np.ndarray
    fidelity: str
    reason: str
    source: str = "regenerated"  # or "payload"
    bit_exact: bool | None = None  # against the file's digest, when it has one


def deterministic(threads: int = 1) -> None:
    """Same platform, same file -> bit-identical image: fixed CPU thread count
    (it changes results) and deterministic kernels."""
    import torch
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


#: The default work budget of one file (SPEC.md §16): pixels × denoising steps. SDXL at
#: 1024² and 128 steps fits; a 32-byte file asking for 16384² or 10,000 steps does not.
MAX_WORK = 1024 * 1024 * 128
#: The default pixel budget of a payload decode: 8192² (201 MB of RGB), a quarter of §11's maximum.
MAX_PIXELS = 8192 * 8192


class _OverTime(Exception):
    """Raised from the step callback when a file's time budget is spent."""


class Regenerator:
    def __init__(self, device: str | None = None, model_dirs: dict[str, Path] | None = None,
                 threads: int | None = None, progress: bool = False, reg: Registry | None = None,
                 max_work: int = MAX_WORK, time_limit: float | None = None, max_pixels: int = MAX_PIXELS,
                 unverified: bool = False, resource_dirs: resources.ResourceMap | None = None):
        import torch
        if threads is None:  # AIGIF_THREADS lets a harness (the conformance measurement) vary it
            threads = int(os.environ.get("AIGIF_THREADS", "1"))
        self.reg = reg or load()
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model_dirs = model_dirs or {}
        self.threads = threads
        self.progress = progress
        self.max_work = max_work      # pixels × steps per file (SPEC.md §16)
        self.time_limit = time_limit  # seconds of denoising per file; None: no limit
        self.max_pixels = max_pixels  # pixels of a payload decode (SPEC.md §16)
        self.unverified = unverified  # use mapped directories of unregistered models whose hash cannot be checked (§5.3)
        # where the LoRAs, embeddings and VAE a file names are found (§12.11): --resource-dir, $AIGIF_RESOURCE_DIR
        self.resource_dirs = resource_dirs if resource_dirs is not None else resources.parse_resource_dirs(None)
        self._pipes: dict[tuple, tuple] = {}
        deterministic(threads)
        _quiet_libraries()
        self.platform: Platform = current(self.device, self.reg)

    @staticmethod
    def _pipe_key(f: AigifFile) -> tuple:
        return (f.model, f.dtype, tuple(sorted((k, v.hex() if isinstance(v, bytes) else v) for k, v in f.model_fields.items())))

    def adopt(self, f: AigifFile, pipe) -> None:
        """Use an already loaded pipeline for files like ``f`` (``record()`` runs the caller's own)."""
        self._pipes[self._pipe_key(f)] = (pipe, pipe.scheduler)

    def pipeline(self, f: AigifFile):
        """The loaded pipeline for a file's model and dtype (cached: one load per batch)."""
        key = self._pipe_key(f)
        if key not in self._pipes:
            path = loading.locate(f.model, f.model_fields, self.reg, self.model_dirs, self.unverified)
            pipe = loading.load_pipeline(f.model, f.dtype, self.device, path, self.reg)
            pipe.set_progress_bar_config(disable=not self.progress)
            self._pipes[key] = (pipe, pipe.scheduler)  # keep the model's own scheduler for "default"
        return self._pipes[key]

    def generate(self, f: AigifFile):
        """Run the pipeline for ``f``; returns the PIL image. A failure inside
        torch or diffusers (a dtype a model cannot run in, say) is reported as
        E_REGEN_UNSUPPORTED, never as a traceback."""
        work = f.width * f.height * int(f.fields.get("steps") or 1)
        if work > self.max_work:  # before any model loads: a tiny file must not buy minutes of work
            raise AigifError("E_BUDGET", f"{f.width}x{f.height} at {f.fields.get('steps')} steps is {work:,} pixel-steps, over "
                             f"this regenerator's budget of {self.max_work:,} (raise it with --max-work)")
        try:
            return self._generate(f)
        except _OverTime:
            raise AigifError("E_BUDGET", f"regeneration took longer than the time limit of {self.time_limit} s "
                             "(raise it with --time-limit)") from None
        except (RuntimeError, NotImplementedError, ValueError, TypeError, AttributeError) as exc:
            raise AigifError("E_REGEN_UNSUPPORTED", f"the {f.model} pipeline failed in {f.dtype}: {str(exc).splitlines()[0][:200]}") from None

    def _generate(self, f: AigifFile):
        import torch

        from .. import noise
        if f.model_payload is not None:  # what a payload means to a pipeline is not defined in 1.0 (SPEC.md §6.4)
            raise AigifError("E_REGEN_UNSUPPORTED", "this regenerator does not apply model payloads")
        pipe, own = self.pipeline(f)
        pipe.scheduler = own
        pipe.scheduler = loading.build_scheduler(pipe, f.fields.get("scheduler", "default"), self.reg)
        kw = pipeline_kwargs(f, self.reg)
        if self.time_limit is not None:
            kw["callback_on_step_end"] = self._deadline(time.monotonic() + self.time_limit)
        if f.noise == "unknown":
            raise AigifError("E_NOISE_UNAVAILABLE", "the file does not record its noise source")
        with contextlib.ExitStack() as stack:
            # the file's LoRAs, embeddings and VAE (SPEC.md §12.11), taken off again when the image is made
            f = stack.enter_context(resources.applied(pipe, f, self.reg, self.resource_dirs, conditioning.settings(f)["syntax"],
                                                      conditioning.needs_own_encoding(f, self.reg)))
            if conditioning.needs_own_encoding(f, self.reg):  # the file's prompt syntax, not the pipeline's reading
                stack.enter_context(conditioning.conditioned(pipe, f, self.reg, kw))
            if f.noise in ("torch-cpu", "torch-cuda"):
                where = f.noise.removeprefix("torch-")
                if where == "cuda" and not torch.cuda.is_available():
                    raise AigifError("E_NOISE_UNAVAILABLE", "noise source torch-cuda needs an NVIDIA GPU")
                kw["generator"] = torch.Generator(where).manual_seed(f.seed)
                return pipe(**kw).images[0]
            try:
                src = noise.get_source(f.noise)
                stream = src.stream(f.seed)
            except (KeyError, noise.NoiseUnavailable) as exc:
                raise AigifError("E_NOISE_UNAVAILABLE", f"noise source {f.noise}: {exc}") from None
            from ..noise.inject import use_noise
            with use_noise(stream):
                return pipe(**kw).images[0]

    @staticmethod
    def _deadline(at: float):
        def check(pipe, step, timestep, kwargs):  # diffusers' callback_on_step_end signature
            if time.monotonic() > at:
                raise _OverTime()
            return kwargs
        return check

    def render(self, f: AigifFile, use_payload: bool = False, approximate: bool = False) -> Result:
        """The image of a file: regenerated, or the pixel payload when asked or
        when regeneration is impossible (SPEC.md §12.6). A partial record
        (§12.10) gives its payload, or E_PARTIAL unless ``approximate``."""
        cls, why = fidelity(f, self.platform, self.reg)
        missing = (f.extension_fields("partial") or {}).get("missing")
        if missing is not None:
            first = missing.splitlines()[0] if missing else "?"
            more = f" (+{len(missing.splitlines()) - 1} more)" if len(missing.splitlines()) > 1 else ""
            if f.pixels is not None and not approximate:
                return Result(self.payload_pixels(f), cls, f"a partial record ({first}{more}): its pixel payload", "payload")
            if not approximate:
                raise AigifError("E_PARTIAL", f"a partial record without pixels: its image cannot be regenerated ({first}{more})")
            cls, why = "partial", f"an approximation: the file does not express {first}{more}"
        if use_payload and f.pixels is not None:
            return Result(self.payload_pixels(f), cls, why, "payload")
        try:
            img = pixels.canonical(self.generate(f))
        except AigifError as err:
            if f.pixels is not None and err.code in ("E_MODEL_UNAVAILABLE", "E_NOISE_UNAVAILABLE", "E_REGEN_UNSUPPORTED"):
                return Result(self.payload_pixels(f), cls, f"{why}; used the pixel payload ({err.code})", "payload")
            raise
        exact = None if f.digest is None else pixels.digest(img, len(f.digest)) == f.digest
        return Result(img, cls, why, "regenerated", exact)

    def payload_pixels(self, f: AigifFile) -> np.ndarray:
        """The canonical pixels of the file's pixel payload."""
        px = f.pixels
        if px is None:
            raise AigifError("E_UNSUPPORTED", "the file has no pixel payload")
        if f.width * f.height > self.max_pixels:  # before decoding: 16384² RGB is 805 MB (SPEC.md §16)
            raise AigifError("E_BUDGET", f"the {f.width}x{f.height} pixel payload is over this regenerator's budget of "
                             f"{self.max_pixels:,} pixels (raise it with --max-pixels)")
        if px.codec != "png":  # generative and learned pixel codecs (SPEC.md Appendix H)
            from ..pixelcodecs import decode_payload
            return decode_payload(f, self)
        return pixels.decode_png(px.data, f.width, f.height)


_default: Regenerator | None = None


def render_file(path: str | os.PathLike, out_png: str | os.PathLike, regen: Regenerator | None = None, use_payload: bool = False) -> Result:
    """Regenerate one file into a PNG (used by the conformance contract's ``render``)."""
    global _default
    from ..fsutil import atomic_write
    if regen is None:
        _default = _default or Regenerator()
        regen = _default
    data = Path(path).read_bytes()
    f = codec.read(data, regen.reg)
    res = regen.render(f, use_payload)
    atomic_write(out_png, pixels.encode_png(res.pixels))
    return res
