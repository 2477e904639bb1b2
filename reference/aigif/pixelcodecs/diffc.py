"""``diffc``: the generative pixel codec of SPEC.md Appendix H.

DiffC (Theis et al. 2022; Vonderfecht & Liu, ICLR 2025) sends a noisy latent
``x_t`` of the image through the diffusion model's own reverse process with
reverse-channel coding, then denoises it with the probability-flow (DDIM,
eta = 0) ODE. The model is the file's own model; nothing is trained.

Layers, one job each:

- the bitstream (:func:`parse`, :func:`serialize`): pure integers, bit-exact;
- the schedule (:func:`alphas_cumprod`) and the coefficients
  (:func:`step_coefficients`): binary64 scalars, bit-exact;
- the shared randomness (:func:`start_noise`, :func:`candidate_block`,
  :func:`chosen_noise`): the ``portable`` generator (Appendix F.3), bit-exact;
- the model calls (:class:`Model`): float32 on CPU, bit-exact on one platform
  with a fixed thread count, toleranced elsewhere;
- :func:`decode` and :func:`encode`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import AigifError
from ..noise import portable
from ..wire import read_uvarint, uvarint

KEY = "diffc"
VERSION = 1
COND_EMPTY = 0           #: conditioning 0: the empty prompt (the only one in version 1)
MAX_K = 20               #: largest index width in bits (2**20 candidates per chunk)
MAX_FLOW = 1000          #: most probability-flow steps
STEP_STRIDE = 0x9E3779B97F4A7C15  #: stream seed of record j: (seed + j * STEP_STRIDE) mod 2**64
MASK64 = (1 << 64) - 1


# ------------------------------------------------------------------ bitstream

@dataclass
class Header:
    width: int
    height: int
    seed: int
    t_start: int
    flow_steps: int
    cond: int = COND_EMPTY
    version: int = VERSION


@dataclass
class Step:
    t: int                       #: the timestep this record codes x_t at
    k: int                       #: index width in bits: 2**k candidates per chunk
    indices: list[int] = field(default_factory=list)  #: one per chunk; the chunk count is len(indices)


def _u8(data: bytes, pos: int, what: str) -> tuple[int, int]:
    if pos >= len(data):
        raise AigifError("E_OVERRUN", f"diffc payload ends inside {what}", offset=pos)
    return data[pos], pos + 1


def read_header(data: bytes, size: tuple[int, int] | None = None) -> tuple[Header, int]:
    """The header (Appendix H.6) and the offset of the first step record;
    ``size`` (the file's width, height) is checked as soon as it is read."""
    end = len(data)
    version, pos = _u8(data, 0, "its version")
    if version != VERSION:
        raise AigifError("E_UNSUPPORTED", f"diffc payload version {version} (this decoder knows {VERSION})")
    width, pos = read_uvarint(data, pos, end)
    height, pos = read_uvarint(data, pos, end)
    if size is not None and (width, height) != size:
        raise AigifError("E_PAYLOAD", f"diffc payload is {width}×{height}; the file says {size[0]}×{size[1]}")
    cond, pos = _u8(data, pos, "its conditioning")
    if pos + 8 > end:
        raise AigifError("E_OVERRUN", "diffc payload ends inside its seed", offset=pos)
    seed = int.from_bytes(data[pos:pos + 8], "little")
    pos += 8
    t_start, pos = read_uvarint(data, pos, end)
    flow, pos = read_uvarint(data, pos, end)
    if cond != COND_EMPTY:
        raise AigifError("E_RANGE", f"diffc conditioning {cond} (version 1 defines 0 only)")
    if not 1 <= flow <= MAX_FLOW:
        raise AigifError("E_RANGE", f"diffc flow steps {flow} outside 1..{MAX_FLOW}")
    return Header(width, height, seed, t_start, flow, cond, version), pos


def parse(data: bytes, width: int, height: int, dims: int | None = None,
          timesteps: int | None = None) -> tuple[Header, list[Step]]:
    """Parse a diffc payload; the size is checked against the file's before
    anything else is read. ``dims`` (latent values) and ``timesteps`` (the
    model's training steps) bound the chunk count and ``t_start`` when known."""
    header, pos = read_header(data, (width, height))
    if timesteps is not None and header.t_start >= timesteps:
        raise AigifError("E_RANGE", f"diffc start timestep {header.t_start} ≥ the model's {timesteps} steps")
    steps: list[Step] = []
    prev = header.t_start
    end = len(data)
    while pos < end:
        t, pos = read_uvarint(data, pos, end)
        if t >= prev:
            raise AigifError("E_RANGE", f"diffc step {len(steps) + 1}: timestep {t} is not below {prev}")
        n, pos = read_uvarint(data, pos, end)
        if n < 1 or (dims is not None and n > dims):
            raise AigifError("E_RANGE", f"diffc step {len(steps) + 1}: {n} chunks (1..{dims if dims is not None else 'latent size'})")
        k, pos = _u8(data, pos, "a step's index width")
        if not 1 <= k <= MAX_K:
            raise AigifError("E_RANGE", f"diffc step {len(steps) + 1}: index width {k} outside 1..{MAX_K}")
        nbytes = (n * k + 7) // 8
        if nbytes > end - pos:
            raise AigifError("E_OVERRUN", f"diffc step {len(steps) + 1}: {nbytes} index bytes, {end - pos} left", offset=pos)
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=pos))  # MSB first
        if bits[n * k:].any():
            raise AigifError("E_NONZERO_PADDING", f"diffc step {len(steps) + 1}: padding bits are not zero")
        weights = np.left_shift(np.uint32(1), np.arange(k - 1, -1, -1, dtype=np.uint32))
        indices = (bits[:n * k].reshape(n, k).astype(np.uint32) @ weights).tolist()
        pos += nbytes
        steps.append(Step(t, k, indices))
        prev = t
    return header, steps


def serialize(header: Header, steps: list[Step]) -> bytes:
    out = bytearray([header.version])
    out += uvarint(header.width) + uvarint(header.height)
    out.append(header.cond)
    out += (header.seed & MASK64).to_bytes(8, "little")
    out += uvarint(header.t_start) + uvarint(header.flow_steps)
    for s in steps:
        out += step_bytes(s)
    return bytes(out)


def step_bytes(s: Step) -> bytes:
    n, k = len(s.indices), s.k
    bits = 0
    for i in s.indices:
        if not 0 <= i < 1 << k:
            raise AigifError("E_RANGE", f"diffc index {i} does not fit {k} bits")
        bits = (bits << k) | i
    nbytes = (n * k + 7) // 8
    bits <<= nbytes * 8 - n * k
    return uvarint(s.t) + uvarint(n) + bytes([k]) + bits.to_bytes(nbytes, "big")


def truncate(data: bytes, records: int) -> bytes:
    """The payload cut after its first ``records`` step records (Appendix H.8):
    a valid diffc payload of lower quality."""
    header, _ = read_header(data)
    _, steps = parse(data, header.width, header.height)
    return serialize(header, steps[:records])


# ------------------------------------------------------------------ schedule

def betas(config: dict[str, Any]) -> list[float]:
    """The model's training betas in binary64 (Appendix H.2)."""
    trained = config.get("trained_betas")
    if trained is not None:
        return [float(b) for b in trained]
    n = int(config.get("num_train_timesteps", 1000))
    bs, be = float(config.get("beta_start", 0.0001)), float(config.get("beta_end", 0.02))
    kind = config.get("beta_schedule", "linear")
    if n < 2:
        raise AigifError("E_REGEN_UNSUPPORTED", f"diffc needs at least 2 training timesteps, the model has {n}")
    if kind == "linear":
        d = (be - bs) / (n - 1)
        return [bs + i * d for i in range(n)]
    if kind == "scaled_linear":
        r0, r1 = math.sqrt(bs), math.sqrt(be)
        d = (r1 - r0) / (n - 1)
        return [(r0 + i * d) * (r0 + i * d) for i in range(n)]
    raise AigifError("E_REGEN_UNSUPPORTED", f"diffc: beta schedule {kind!r} is not defined (linear, scaled_linear, trained_betas)")


def alphas_cumprod(config: dict[str, Any]) -> list[float]:
    out, acc = [], 1.0
    for b in betas(config):
        acc = acc * (1.0 - b)
        if not 0.0 < acc < 1.0:
            raise AigifError("E_REGEN_UNSUPPORTED", "diffc: the model's schedule leaves (0, 1)")
        out.append(acc)
    return out


@dataclass(frozen=True)
class Coefficients:
    c_x: float     #: x0_hat = c_x * x_t - c_e * eps_hat
    c_e: float
    a: float       #: posterior mean = a * x0 + b * x_t
    b: float
    sigma: float   #: posterior standard deviation


def predict_coefficients(abar_t: float) -> tuple[float, float]:
    return 1.0 / math.sqrt(abar_t), math.sqrt(1.0 - abar_t) / math.sqrt(abar_t)


def step_coefficients(abar: list[float], t: int, s: int) -> Coefficients:
    """q(x_s | x_t, x_0) for s < t (Appendix H.4), all binary64."""
    at, as_ = abar[t], abar[s]
    ats = at / as_
    bts = 1.0 - ats
    c_x, c_e = predict_coefficients(at)
    a = math.sqrt(as_) * bts / (1.0 - at)
    b = math.sqrt(ats) * (1.0 - as_) / (1.0 - at)
    sigma = math.sqrt((1.0 - as_) * bts / (1.0 - at))
    return Coefficients(c_x, c_e, a, b, sigma)


def flow_timesteps(t_last: int, flow_steps: int) -> list[int]:
    """tau_0 > tau_1 > ... of the final probability-flow denoise (Appendix H.5)."""
    f = max(1, min(flow_steps, t_last))
    return [(t_last * (f - i)) // f for i in range(f)]


# ------------------------------------------------------------------ shared randomness

def step_seed(seed: int, j: int) -> int:
    return (seed + j * STEP_STRIDE) & MASK64


def chunk_width(dims: int, n: int) -> int:
    return (dims + n - 1) // n


def start_noise(seed: int, dims: int) -> np.ndarray:
    """x at t_start: values 0 .. dims-1 of the stream of seed_0 (record 0)."""
    return portable.values_np(step_seed(seed, 0), 0, dims)


def candidate_block(seed: int, j: int, n: int, c: int, k: int, dims: int) -> np.ndarray:
    """All 2**k candidates of chunk ``c`` of record ``j`` (1-based), shape (2**k, m_c)."""
    m = chunk_width(dims, n)
    count = 1 << k
    vals = portable.values_np(step_seed(seed, j), c * count * m, count * m).reshape(count, m)
    return vals[:, :len(range(c, dims, n))]


def values_at(seed: int, positions: np.ndarray) -> np.ndarray:
    """Values of the ``portable`` stream of ``seed`` at arbitrary positions
    (random access, Appendix F.3.5): the same values as ``values_np`` gives for
    a contiguous range, for any gather of positions at once."""
    from ..noise.philox import MASK32, philox4x32_np, split_seed
    pos = np.asarray(positions, dtype=np.uint64)
    j = pos >> np.uint64(1)
    k0, k1 = split_seed(seed)
    w0, w1, w2, w3 = philox4x32_np(j & np.uint64(MASK32), j >> np.uint64(32), 0, 0, k0, k1)
    half = (pos & np.uint64(1)).astype(bool)
    a = np.where(half, w2, w0)
    b = np.where(half, w3, w1)
    return portable.ppnd_np(portable.uniform52_np(a, b)).astype(np.float32)


def chosen_noise(seed: int, j: int, step: Step, dims: int) -> np.ndarray:
    """The decoder's noise of record ``j``: the chosen candidate of every chunk,
    scattered to latent dims c, c+n, c+2n, ... (one vectorised gather: value i
    of the latent is at position (c*2**k + index_c)*M + i//n, c = i mod n)."""
    n = len(step.indices)
    m = chunk_width(dims, n)
    i = np.arange(dims, dtype=np.uint64)
    c = i % np.uint64(n)
    idx = np.asarray(step.indices, dtype=np.uint64)[c.astype(np.intp)]
    pos = (c * np.uint64(1 << step.k) + idx) * np.uint64(m) + i // np.uint64(n)
    return values_at(step_seed(seed, j), pos)


# ------------------------------------------------------------------ the model

class Denoiser:
    """What diffc needs of a diffusion model: its schedule ``abar`` (binary64),
    the latent layout and an x0 prediction. :class:`Model` is the normative one
    (the file's model); tests add analytic ones to check the coding itself."""

    abar: list[float]
    channels: int
    factor: int

    def __init__(self, abar: list[float], channels: int, factor: int):
        import torch
        self.torch = torch
        self.abar, self.channels, self.factor = abar, channels, factor

    def latent_shape(self, width: int, height: int) -> tuple[int, int, int, int]:
        if width % self.factor or height % self.factor:
            raise AigifError("E_PAYLOAD", f"diffc: {width}×{height} is not a multiple of the VAE's factor {self.factor}")
        return (1, self.channels, height // self.factor, width // self.factor)

    def tensor(self, flat: np.ndarray, shape):
        return self.torch.from_numpy(np.ascontiguousarray(flat, dtype=np.float32).reshape(shape))

    def x0_hat(self, x, t: int):
        """(x0 prediction, eps prediction) from x_t."""
        raise NotImplementedError

    def flow(self, x, t_last: int, flow_steps: int):
        """Probability-flow (DDIM, eta = 0) from x at t_last to the x0 estimate."""
        taus = flow_timesteps(t_last, flow_steps)
        x0 = x
        for i, tau in enumerate(taus):
            x0, eps = self.x0_hat(x, tau)
            if i + 1 < len(taus):
                an = self.abar[taus[i + 1]]
                x = x0 * _f32(math.sqrt(an)) + eps * _f32(math.sqrt(1.0 - an))
        return x0


class Model(Denoiser):
    """The file's model in float32 on CPU, as diffc calls it (Appendix H.3)."""

    def __init__(self, pipe):
        import torch
        if type(pipe).__name__ != "StableDiffusionPipeline":
            raise AigifError("E_REGEN_UNSUPPORTED", f"diffc version 1 is defined for the sd family (StableDiffusionPipeline), not {type(pipe).__name__}")
        self.torch = torch
        self.pipe = pipe
        self.unet, self.vae = pipe.unet, pipe.vae
        cfg = dict(pipe.scheduler.config)
        self.prediction = cfg.get("prediction_type", "epsilon")
        if self.prediction not in ("epsilon", "v_prediction"):
            raise AigifError("E_REGEN_UNSUPPORTED", f"diffc: prediction type {self.prediction!r}")
        super().__init__(alphas_cumprod(cfg), int(self.unet.config.in_channels),
                         2 ** (len(self.vae.config.block_out_channels) - 1))
        self.scale = float(self.vae.config.scaling_factor)
        shift = getattr(self.vae.config, "shift_factor", None)
        self.shift = float(shift) if shift is not None else 0.0
        with torch.no_grad():
            tok = pipe.tokenizer("", padding="max_length", max_length=pipe.tokenizer.model_max_length,
                                 truncation=True, return_tensors="pt")
            self.cond = pipe.text_encoder(tok.input_ids.to(pipe.device))[0].to(torch.float32)

    def x0_hat(self, x, t: int):
        torch = self.torch
        with torch.no_grad():
            out = self.unet(x, torch.tensor([t], dtype=torch.int64), encoder_hidden_states=self.cond).sample
        abar = self.abar[t]
        if self.prediction == "v_prediction":
            eps = x * float(math.sqrt(1.0 - abar)) + out * float(math.sqrt(abar))
        else:
            eps = out
        c_x, c_e = predict_coefficients(abar)
        return x * _f32(c_x) - eps * _f32(c_e), eps

    def encode_latent(self, pixels: np.ndarray):
        torch = self.torch
        x = torch.from_numpy(pixels.astype(np.float32) / np.float32(127.5) - np.float32(1.0)).permute(2, 0, 1)[None]
        with torch.no_grad():
            mean = self.vae.encode(x.contiguous()).latent_dist.mean
        return (mean - _f32(self.shift)) * _f32(self.scale)

    def decode_latent(self, z) -> np.ndarray:
        torch = self.torch
        with torch.no_grad():
            img = self.vae.decode(z / _f32(self.scale) + _f32(self.shift)).sample
        img = torch.nan_to_num((img / 2 + 0.5).clamp(0, 1) * 255, nan=0.0)  # a NaN value is 0 (H.3)
        return np.rint(img[0].permute(1, 2, 0).numpy()).astype(np.uint8)


def _f32(v: float) -> float:
    return float(np.float32(v))


# ------------------------------------------------------------------ decode

def decode(data: bytes, width: int, height: int, model: Model, records: int | None = None) -> np.ndarray:
    """The canonical pixels (H, W, 3) of a diffc payload (Appendix H.7)."""
    header, x, t_last = reverse(data, width, height, model, records)
    return model.decode_latent(model.flow(x, t_last, header.flow_steps))


def reverse(data: bytes, width: int, height: int, model: Denoiser, records: int | None = None):
    """The reverse-channel-decoded latent: (header, x_t, t) after the step records."""
    shape = model.latent_shape(width, height)
    dims = int(np.prod(shape))
    header, steps = parse(data, width, height, dims, len(model.abar))
    if records is not None:
        steps = steps[:records]
    x = model.tensor(start_noise(header.seed, dims), shape)
    prev = header.t_start
    for j, step in enumerate(steps, 1):
        co = step_coefficients(model.abar, prev, step.t)
        x0_hat, _ = model.x0_hat(x, prev)
        eps = model.tensor(chosen_noise(header.seed, j, step, dims), shape)
        x = (x0_hat * _f32(co.a) + x * _f32(co.b)) + eps * _f32(co.sigma)
        prev = step.t
    return header, x, prev


# ------------------------------------------------------------------ encode (informative: any encoder is valid)

@dataclass
class EncodeReport:
    payload: bytes
    kl_bits: list[float]          #: the true KL of each step, bits
    coded_bits: list[int]         #: index bits of each step
    record_ends: list[int]        #: byte offset after each record (truncation points)


def schedule(t_start: int, t_end: int, steps: int) -> list[int]:
    """Coded timesteps evenly spaced from t_start (excluded) to t_end (included)."""
    if steps < 1 or not 0 <= t_end < t_start:
        raise AigifError("E_RANGE", f"diffc schedule: {steps} steps from {t_start} to {t_end}")
    ts = sorted({t_start - ((t_start - t_end) * j + steps // 2) // steps for j in range(1, steps + 1)}, reverse=True)
    return [t for t in ts if t < t_start]


def encode(pixels: np.ndarray, model: Model, *, seed: int = 0, steps: int = 8, t_end: int = 300,
           t_start: int | None = None, flow_steps: int = 4, k_max: int = 12, overhead: float = 2.0,
           max_step_bits: int | None = None, timesteps: list[int] | None = None) -> EncodeReport:
    """Encode 8-bit RGB pixels as a diffc payload.

    Per step, the chunk count is ceil(KL / (k_max - overhead)) and each chunk
    codes its index in k = clamp(ceil(KL_chunk + overhead), 1, k_max) bits; the
    index is chosen by the Poisson functional representation over the 2**k
    shared candidates (exponential arrival times from the encoder's own
    seeded generator: the decoder never needs them). ``max_step_bits`` caps
    the index bits of a step (fewer chunks than the KL asks for: a coarser
    sample, the rate knob of the paper's Appendix A.6)."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise AigifError("E_PAYLOAD", "diffc encodes 8-bit RGB pixels")
    height, width = pixels.shape[:2]
    model.latent_shape(width, height)
    return encode_latent(model.encode_latent(pixels), width, height, model, seed=seed, steps=steps, t_end=t_end,
                         t_start=t_start, flow_steps=flow_steps, k_max=k_max, overhead=overhead,
                         max_step_bits=max_step_bits, timesteps=timesteps)


def encode_latent(x0, width: int, height: int, model: Denoiser, *, seed: int = 0, steps: int = 8, t_end: int = 300,
                  t_start: int | None = None, flow_steps: int = 4, k_max: int = 12, overhead: float = 2.0,
                  max_step_bits: int | None = None, timesteps: list[int] | None = None) -> EncodeReport:
    """Encode a latent x0 (the image's latent, shape ``model.latent_shape``)."""
    if not 1 <= k_max <= MAX_K:
        raise AigifError("E_RANGE", f"k_max {k_max} outside 1..{MAX_K}")
    if not 0 <= seed <= MASK64:
        raise AigifError("E_RANGE", f"diffc seed {seed} outside 0 … 2^64 − 1")
    shape = model.latent_shape(width, height)
    dims = int(np.prod(shape))
    t_start = len(model.abar) - 1 if t_start is None else t_start
    ts = timesteps if timesteps is not None else schedule(t_start, t_end, steps)
    header = Header(width, height, seed, t_start, flow_steps)
    if not 1 <= flow_steps <= MAX_FLOW:
        raise AigifError("E_RANGE", f"diffc flow steps {flow_steps} outside 1..{MAX_FLOW}")
    if not 0 <= t_start < len(model.abar):
        raise AigifError("E_RANGE", f"diffc start timestep {t_start} outside 0..{len(model.abar) - 1}")
    x0_flat = x0.numpy().reshape(-1).astype(np.float64)
    rng = np.random.Generator(np.random.Philox(key=seed))
    x = model.tensor(start_noise(header.seed, dims), shape)
    out = bytearray(serialize(header, []))
    kl_bits, coded, ends = [], [], []
    prev = t_start
    for j, t in enumerate(ts, 1):
        if t >= prev:
            raise AigifError("E_RANGE", f"diffc timesteps must decrease: {t} after {prev}")
        co = step_coefficients(model.abar, prev, t)
        x0_hat, _ = model.x0_hat(x, prev)
        d = (co.a / co.sigma) * (x0_flat - x0_hat.numpy().reshape(-1).astype(np.float64))
        kl = float(d @ d) / (2.0 * math.log(2.0))
        if not math.isfinite(kl):
            raise AigifError("E_REGEN_UNSUPPORTED", f"diffc: the model's prediction at t {prev} is not finite")
        n = min(dims, max(1, math.ceil(kl / max(1.0, k_max - overhead))))
        if max_step_bits is not None:
            n = max(1, min(n, max_step_bits // k_max))
        k = min(k_max, max(1, math.ceil(kl / n + overhead)))
        indices = []
        for c in range(n):
            cand = candidate_block(header.seed, j, n, c, k, dims).astype(np.float64)
            logw = cand @ d[c::n]
            arrivals = np.cumsum(rng.exponential(size=1 << k))
            indices.append(int(np.argmin(np.log(arrivals) - logw)))
        step = Step(t, k, indices)
        out += step_bytes(step)
        eps = model.tensor(chosen_noise(header.seed, j, step, dims), shape)
        x = (x0_hat * _f32(co.a) + x * _f32(co.b)) + eps * _f32(co.sigma)
        kl_bits.append(kl)
        coded.append(n * k)
        ends.append(len(out))
        prev = t
    return EncodeReport(bytes(out), kl_bits, coded, ends)
