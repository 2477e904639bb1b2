"""Rate–distortion of the diffc pixel codec (SPEC.md Appendix H) against PNG,
JPEG XL (lossless and lossy), WebP (lossless and lossy) and AVIF at matched
bitrates, on images the conformance model generates and on the same images
after an edit (shifted, a painted patch, cropped and rescaled).

    python benchmarks/bench_diffc.py [--model tiny-sd1] [--size 64] [--images 2]

Per image set, the lossless codecs first (PNG, JPEG XL lossless, WebP
lossless: bytes, bits per pixel, encode/decode time). Then, for each diffc
budget, its bits per pixel and PSNR, then, for every lossy codec, the PSNR
of its largest encoding that is no larger than the diffc payload ("—" when
even its smallest encoding is larger: the container and header overhead of
those formats exceeds the budget), and the encode/decode time of diffc per
image. A last table gives the lossy codecs' own encode/decode times. PSNR is
SPEC.md §12.8's.
"""
from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
import time
from typing import Any

import numpy as np

#: (label, encode options): the step budget (coded steps, last timestep, index bits per step)
BUDGETS: list[tuple[str, dict[str, Any]]] = [
    ("0 steps (header)", dict(timesteps=[])),
    ("3 steps, t≥500, 64 b/step", dict(steps=3, t_end=500, max_step_bits=64)),
    ("4 steps, t≥400, 256 b/step", dict(steps=4, t_end=400, max_step_bits=256)),
    ("6 steps, t≥300, 1 kb/step", dict(steps=6, t_end=300, max_step_bits=1024)),
    ("8 steps, t≥200", dict(steps=8, t_end=200)),
    ("10 steps, t≥100", dict(steps=10, t_end=100)),
]


def edits(img: np.ndarray) -> dict[str, np.ndarray]:
    """The edited versions of a generated image: shifted, a painted patch, cropped and rescaled."""
    from PIL import Image
    h, w = img.shape[:2]
    patch = img.copy()
    patch[h // 4:h // 2, w // 4:w // 2] = (230, 40, 40)
    crop = Image.fromarray(img[h // 8:h - h // 8, w // 8:w - w // 8]).resize((w, h), Image.Resampling.BICUBIC)
    return {"shift 8 px": np.roll(img, (h // 8, w // 8), axis=(0, 1)), "painted patch": patch,
            "crop 75% + rescale": np.asarray(crop)}


def lossless() -> dict:
    """codec -> (encode(px) -> bytes, decode(bytes) -> px): the lossless references."""
    from PIL import Image

    from aigif.regen import pixels

    def webp_enc(px):
        buf = io.BytesIO()
        Image.fromarray(px).save(buf, format="WEBP", lossless=True, quality=100, method=6)
        return buf.getvalue()

    def pil_dec(data):
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))

    out: dict[str, tuple[Any, Any]] = {"PNG (lossless)": (pixels.encode_png, pil_dec)}
    try:
        import imagecodecs
    except ImportError:  # pragma: no cover
        imagecodecs = None
    if imagecodecs is not None and hasattr(imagecodecs, "jpegxl_encode"):
        out["JPEG XL lossless"] = (lambda px: imagecodecs.jpegxl_encode(px, lossless=True, effort=7),
                                   lambda data: imagecodecs.jpegxl_decode(data)[..., :3])
    out["WebP lossless"] = (webp_enc, pil_dec)
    return out


def baselines() -> dict:
    """codec -> (quality grid, encode(px, q) -> bytes, decode(bytes) -> px)."""
    from PIL import Image

    def webp_enc(px, q):
        buf = io.BytesIO()
        Image.fromarray(px).save(buf, format="WEBP", quality=q, method=6)
        return buf.getvalue()

    def webp_dec(data):
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))

    out: dict[str, tuple[list[Any], Any, Any]] = {"WebP": (list(range(0, 101, 5)), webp_enc, webp_dec)}
    try:
        import imagecodecs
    except ImportError:  # pragma: no cover
        return out
    if hasattr(imagecodecs, "jpegxl_encode"):
        out["JPEG XL"] = ([25.0, 15.0, 10.0, 7.0, 5.0, 3.0, 2.0, 1.5, 1.0, 0.5],
                          lambda px, d: imagecodecs.jpegxl_encode(px, distance=d, effort=7),
                          lambda data: imagecodecs.jpegxl_decode(data)[..., :3])
    if hasattr(imagecodecs, "avif_encode"):
        out["AVIF"] = (list(range(0, 101, 5)), lambda px, q: imagecodecs.avif_encode(px, level=q, speed=6),
                       lambda data: imagecodecs.avif_decode(data)[..., :3])
    return out


def best_under(px: np.ndarray, limit: int, enc, dec, grid, cache: dict) -> tuple[int, float] | None:
    """The largest encoding of ``px`` no larger than ``limit`` bytes: (bytes, PSNR)."""
    from aigif.regen.pixels import psnr
    best = None
    for q in grid:
        key = (id(enc), q)
        if key not in cache:
            t0 = time.perf_counter()
            data = enc(px, q)
            t1 = time.perf_counter()
            got = np.ascontiguousarray(dec(data), dtype=np.uint8)
            t2 = time.perf_counter()
            cache[key] = (len(data), psnr(px, got), t1 - t0, t2 - t1)
        size, p = cache[key][:2]
        if size <= limit and (best is None or size > best[0]):
            best = (size, p)
    return best


def coding_table(size: int, k_max: int, flow_steps: int) -> None:
    """The coding alone, with a model whose prior is exact: latents drawn from
    N(0, I) and the analytic posterior-mean denoiser of that prior. Shows the
    reverse-channel coding's overhead over the KL and the distortion a correct
    prior buys at each rate (the tiny conformance models have random weights)."""
    import torch

    from aigif.pixelcodecs import diffc
    cfg = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "num_train_timesteps": 1000}

    class GaussianPrior(diffc.Denoiser):
        def x0_hat(self, x, t):
            a = self.abar[t]
            x0 = x * float(np.float32(math.sqrt(a)))
            return x0, (x - x0 * float(np.float32(math.sqrt(a)))) / float(np.float32(math.sqrt(1 - a)))

    m = GaussianPrior(diffc.alphas_cumprod(cfg), 4, 8)
    x0 = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 4, size // 8, size // 8)).astype(np.float32))
    print(f"\nThe coding with an exact prior (latent 4×{size // 8}×{size // 8} ~ N(0, I), its analytic denoiser):\n")
    print("| coded steps, last t | payload bytes | KL bits | index bits | overhead | latent MSE | latent SNR dB |\n|---|---:|---:|---:|---:|---:|---:|")
    for steps, t_end in [(2, 700), (3, 500), (6, 300), (8, 200), (10, 100), (14, 30)]:
        rep = diffc.encode_latent(x0, size, size, m, seed=3, steps=steps, t_end=t_end, k_max=k_max, flow_steps=flow_steps)
        _, x, t = diffc.reverse(rep.payload, size, size, m)
        mse = float(((m.flow(x, t, flow_steps) - x0) ** 2).mean())
        kl, bits = sum(rep.kl_bits), sum(rep.coded_bits)
        print(f"| {steps}, {t_end} | {len(rep.payload)} | {kl:.0f} | {bits} | {100 * (bits / kl - 1):+.0f}% | {mse:.4f} | {10 * math.log10(1 / mse):.2f} |")


def fmt(p: float) -> str:
    return "∞" if math.isinf(p) else f"{p:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny-sd1")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--images", type=int, default=2, help="generated images (each also edited three ways)")
    ap.add_argument("--k-max", type=int, default=12)
    ap.add_argument("--flow-steps", type=int, default=4)
    args = ap.parse_args()

    from aigif import jsonform
    from aigif.pixelcodecs import diffc, diffc_model
    from aigif.regen import Regenerator, pixels
    regen = Regenerator(device="cpu")
    sets: dict[str, list[np.ndarray]] = {"generated": []}
    model = None
    for i in range(args.images):
        f = jsonform.new(args.model, height=args.size, width=args.size, seed=1000 + i, dtype="float32", noise="portable",
                         prompt=["a red circle on a blue background", "a yellow square, green grass"][i % 2])
        f.fields["steps"] = 8
        img = pixels.canonical(regen.generate(f))
        model = model or diffc_model(f, regen)
        sets["generated"].append(img)
        for name, e in edits(img).items():
            sets.setdefault(f"edited: {name}", []).append(e)
    assert model is not None
    others = baselines()
    exact = lossless()
    times: dict[str, list[tuple[float, float]]] = {c: [] for c in others}
    npx = args.size * args.size
    print(f"{args.model}, {args.size}×{args.size}, {args.images} image(s) per row set; k_max {args.k_max}, "
          f"{args.flow_steps} flow steps; means over the images\n")
    head = "| images | codec or diffc budget | bytes | bpp | PSNR dB | PNG bytes ÷ bytes | " + " | ".join(f"{c} PSNR @ ≤ bytes" for c in others) + \
        " | encode s | decode s |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for set_name, imgs in sets.items():
        pngs = [len(pixels.encode_png(im)) for im in imgs]
        caches: list[dict] = [{} for _ in imgs]
        for lname, (enc, dec) in exact.items():
            lsizes, lenc, ldec = [], [], []
            for im in imgs:
                t0 = time.perf_counter()
                data = enc(im)
                t1 = time.perf_counter()
                back = np.ascontiguousarray(dec(data), dtype=np.uint8)
                t2 = time.perf_counter()
                if not np.array_equal(back, im):
                    raise SystemExit(f"{lname} is not lossless here")
                lsizes.append(len(data))
                lenc.append(t1 - t0)
                ldec.append(t2 - t1)
            ls = statistics.mean(lsizes)
            print(f"| {set_name} | {lname} | {ls:.0f} | {8 * ls / npx:.3f} | ∞ | {statistics.mean(pngs) / ls:.2f}× |"
                  + " |" * len(others) + f" {statistics.mean(lenc):.4f} | {statistics.mean(ldec):.4f} |")
        for label, opts in BUDGETS:
            sizes, ps, tenc, tdec = [], [], [], []
            cols: dict[str, list] = {c: [] for c in others}
            for n, im in enumerate(imgs):
                t0 = time.perf_counter()
                rep = diffc.encode(im, model, seed=7 + n, k_max=args.k_max, flow_steps=args.flow_steps, **opts)
                t1 = time.perf_counter()
                out = diffc.decode(rep.payload, args.size, args.size, model)
                t2 = time.perf_counter()
                sizes.append(len(rep.payload))
                ps.append(pixels.psnr(im, out))
                tenc.append(t1 - t0)
                tdec.append(t2 - t1)
                for c, (grid, enc, dec) in others.items():
                    cols[c].append(best_under(im, len(rep.payload), enc, dec, grid, caches[n]))
            size = statistics.mean(sizes)
            row = [set_name, label, f"{size:.0f}", f"{8 * size / npx:.4f}", fmt(statistics.mean(ps)),
                   f"{statistics.mean(pngs) / size:.0f}×"]
            for c in others:
                got = cols[c]
                row.append("—" if any(g is None for g in got) else f"{fmt(statistics.mean(g[1] for g in got))} ({statistics.mean(g[0] for g in got):.0f} B)")
            row += [f"{statistics.mean(tenc):.2f}", f"{statistics.mean(tdec):.2f}"]
            print("| " + " | ".join(row) + " |")
        for cache in caches:
            for (enc_id, _q), (_size, _p, te, td) in cache.items():
                for c, (_grid, enc, _dec) in others.items():
                    if id(enc) == enc_id:
                        times[c].append((te, td))
        sys.stdout.flush()
    print("\nLossy baselines' own times (means over every image and quality of their grids):\n")
    print("| codec | encodings | encode ms | decode ms |\n|---|---:|---:|---:|")
    for c, ts in times.items():
        if ts:
            print(f"| {c} | {len(ts)} | {1000 * statistics.mean(t[0] for t in ts):.2f} | {1000 * statistics.mean(t[1] for t in ts):.2f} |")
    coding_table(args.size, args.k_max, args.flow_steps)
    print("\nBaseline minimum sizes (their quality-0 encodings, bytes, first image): "
          + ", ".join(f"{c} {len(enc(sets['generated'][0], grid[0]))}" for c, (grid, enc, _) in others.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
