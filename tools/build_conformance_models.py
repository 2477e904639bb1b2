#!/usr/bin/env python3
"""Build the tiny AIGIF conformance models (vectors/models/<name>/).

Three tiny diffusers pipelines, built deterministically (fixed seeds, one CPU thread) from
tools/conformance_models.json:

  tiny-sd1   StableDiffusionPipeline     (UNet2DConditionModel, AutoencoderKL, CLIPTextModel)
  tiny-sdxl  StableDiffusionXLPipeline   (two CLIP text encoders, "text_time" micro-conditioning)
  tiny-flow  StableDiffusion3Pipeline    (SD3Transformer2DModel, FlowMatchEulerDiscreteScheduler,
                                          text_encoder_3/tokenizer_3 = None)

Everything is generated locally: a CLIP-style byte-level BPE tokenizer is learned from a
synthetic corpus of prompts about simple coloured shapes, a tiny VAE is trained on the
matching synthetic images, and each denoiser (with its text encoders) is trained for a few
CPU minutes so that prompt, negative prompt, guidance, steps and scheduler all visibly change
the output.  Nothing is downloaded.

Usage:
    python tools/build_conformance_models.py                 # build all three into vectors/models
    python tools/build_conformance_models.py --only tiny-sd1 # one model (the VAE is rebuilt too)
    python tools/build_conformance_models.py --out /tmp/m    # somewhere else

Bit-identical rebuilds need the same CPU kind, torch build and thread count (the script forces
one thread); the committed weights, not the rebuild, are the reference: their SHA-256 are in
vectors/models/<name>/aigif-model.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "tools" / "conformance_models.json"
DEFAULT_OUT = ROOT / "vectors" / "models"

DEV = torch.device("cpu")  # --device: for quick experiments only; the reference build is CPU
BOS = "<|startoftext|>"
EOS = "<|endoftext|>"


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


# --------------------------------------------------------------------------------------------
# Synthetic data: coloured shapes + short prompts
# --------------------------------------------------------------------------------------------
class ShapeWorld:
    def __init__(self, cfg: dict):
        d = cfg["data"]
        self.colours = {k: tuple(v) for k, v in d["colours"].items()}
        self.names = list(self.colours)
        self.shapes = list(d["shapes"])
        self.sizes = {k: tuple(v) for k, v in d["sizes"].items()}
        self.positions = {k: tuple(v) for k, v in d["positions"].items()}
        self.p_empty = d["p_empty_prompt"]
        self.texture = d.get("texture")
        self.size = cfg["image_size"]
        yy, xx = np.mgrid[0 : self.size, 0 : self.size].astype(np.float64) + 0.5
        self.yy, self.xx = yy, xx

    @staticmethod
    def _mask(shape, cx, cy, r, yy, xx, angle):
        dx, dy = xx - cx, yy - cy
        c, s = math.cos(angle), math.sin(angle)
        u, v = c * dx + s * dy, -s * dx + c * dy
        if shape == "circle":
            d = np.sqrt(dx * dx + dy * dy) - r
        elif shape == "ring":
            d = np.abs(np.sqrt(dx * dx + dy * dy) - 0.75 * r) - 0.25 * r
        elif shape == "square":
            d = np.maximum(np.abs(u), np.abs(v)) - 0.85 * r
        elif shape == "diamond":
            d = (np.abs(u) + np.abs(v)) - 1.1 * r
        elif shape == "cross":
            a = np.maximum(np.abs(u) - r, np.abs(v) - 0.32 * r)
            b = np.maximum(np.abs(v) - r, np.abs(u) - 0.32 * r)
            d = np.minimum(a, b)
        elif shape == "triangle":
            v = -v
            d = np.maximum(np.maximum(v, -0.866 * u - 0.5 * v), 0.866 * u - 0.5 * v) - 0.55 * r
        else:
            raise ValueError(shape)
        return np.clip(0.5 - d, 0.0, 1.0)  # 1-pixel anti-aliased edge

    def sample(self, rng: np.random.Generator):
        """One (HxWx3 float image in [-1, 1], prompt) pair."""
        names, n = self.names, len(self.names)
        bg = names[rng.integers(n)]
        img = np.empty((self.size, self.size, 3), np.float64)
        img[:] = self.colours[bg]
        objs = []
        for _ in range(1 if rng.random() < 0.7 else 2):
            col = names[rng.integers(n)]
            while col == bg:
                col = names[rng.integers(n)]
            shp = self.shapes[rng.integers(len(self.shapes))]
            sz = "small" if rng.random() < 0.5 else "large"
            lo, hi = self.sizes[sz]
            r = rng.uniform(lo, hi) * self.size / 64.0
            pos = list(self.positions)[rng.integers(len(self.positions))]
            px, py = self.positions[pos]
            cx = (px + rng.normal(0, 0.06)) * self.size
            cy = (py + rng.normal(0, 0.06)) * self.size
            angle = rng.uniform(-0.3, 0.3)
            m = self._mask(shp, cx, cy, r, self.yy, self.xx, angle)[..., None]
            img = img * (1 - m) + np.asarray(self.colours[col], np.float64) * m
            objs.append((sz, col, shp, pos))
        tex = self.texture
        if tex:
            # random per-cell brightness tiles: many independent binary "details" for the sampler to
            # decide, which is what makes regeneration sensitive to every sampling parameter
            n = self.size // tex["cell"]
            t = rng.choice([-1.0, 1.0], size=(n, n)) * tex["amplitude"] * 255.0
            img = img + np.kron(t, np.ones((tex["cell"], tex["cell"])))[..., None]
        img = (np.round(np.clip(img, 0, 255)) / 127.5 - 1.0).astype(np.float32)
        if rng.random() < self.p_empty:
            return img, ""
        parts = []
        for i, (sz, col, shp, pos) in enumerate(objs):
            if i > 0 and rng.random() < 0.5:
                break
            words = []
            if rng.random() < 0.3:
                words.append(sz)
            if rng.random() < 0.85:
                words.append(col)
            if rng.random() < 0.85:
                words.append(shp)
            if not words:
                continue
            phrase = " ".join(words)
            if words[-1] == shp and rng.random() < 0.7:
                phrase = ("an " if phrase[0] in "aeiou" else "a ") + phrase
            if rng.random() < 0.3:
                phrase += " at the " + pos
            parts.append(phrase)
        text = " and ".join(parts)
        if rng.random() < 0.5 or not text:
            text = (text + " on a " if text else "") + f"{bg} background"
        return img, text

    def batch(self, rng: np.random.Generator, n: int):
        ims, ps = zip(*[self.sample(rng) for _ in range(n)])
        return torch.from_numpy(np.stack(ims)).permute(0, 3, 1, 2).contiguous(), list(ps)


class LatentSet:
    """A fixed synthetic data set, VAE-encoded once (latent means) and shared by the denoisers."""

    def __init__(self, world: ShapeWorld, vae, n: int, seed: int):
        rng = np.random.default_rng(seed)
        zs, self.prompts = [], []
        with torch.no_grad():
            for i in range(0, n, 64):
                x, p = world.batch(rng, min(64, n - i))
                zs.append(vae.encode(x.to(DEV)).latent_dist.mean)
                self.prompts += p
        self.z = torch.cat(zs)

    def batch(self, rng: np.random.Generator, n: int):
        idx = rng.integers(0, len(self.prompts), size=n)
        return self.z[torch.from_numpy(idx).to(self.z.device)], [self.prompts[i] for i in idx]


# --------------------------------------------------------------------------------------------
# CLIP-style byte-level BPE tokenizer, learned deterministically from the synthetic corpus
# --------------------------------------------------------------------------------------------
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


_PRETOK = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+")


def learn_bpe(prompts: list[str], num_merges: int):
    b2u = bytes_to_unicode()
    words = Counter()
    for p in prompts:
        for w in _PRETOK.findall(p.lower()):
            words["".join(b2u[b] for b in w.encode("utf-8"))] += 1
    # each word: tuple of symbols, the last one carrying "</w>"
    seqs = {w: tuple(w[:-1]) + (w[-1] + "</w>",) for w in words}
    merges = []
    for _ in range(num_merges):
        pairs = Counter()
        for w, sym in seqs.items():
            for a, b in zip(sym, sym[1:]):
                pairs[(a, b)] += words[w]
        if not pairs:
            break
        best = min(pairs, key=lambda k: (-pairs[k], k))  # deterministic tie-break
        merges.append(best)
        for w, sym in seqs.items():
            out, i = [], 0
            while i < len(sym):
                if i + 1 < len(sym) and (sym[i], sym[i + 1]) == best:
                    out.append(sym[i] + sym[i + 1])
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            seqs[w] = tuple(out)
    base = list(b2u.values())
    vocab_list = base + [c + "</w>" for c in base] + ["".join(m) for m in merges] + [BOS, EOS]
    vocab = {}
    for t in vocab_list:
        vocab.setdefault(t, len(vocab))
    return vocab, merges


def write_tokenizer(dirpath: Path, vocab, merges, max_len: int, pad_token: str):
    from transformers import CLIPTokenizer

    dirpath.mkdir(parents=True, exist_ok=True)
    (dirpath / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=None) + "\n", encoding="utf-8")
    (dirpath / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    tok = CLIPTokenizer(
        vocab=str(dirpath / "vocab.json"), merges=str(dirpath / "merges.txt"), pad_token=pad_token,
        model_max_length=max_len,
    )
    return tok


def t5_vocab(prompts: list[str], extra_words: list[str]):
    """SentencePiece-style unigram vocabulary: whole corpus words plus single-character fallbacks."""
    words = Counter()
    for p in prompts:
        for w in p.lower().split():
            words[w] += 1
    for w in extra_words:
        words[w] += 1
    total = sum(words.values())
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -3.0)]
    for w, c in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])):
        vocab.append(("\u2581" + w, round(math.log(c / total), 4)))
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"-()":
        vocab.append((ch, -12.0))
        vocab.append(("\u2581" + ch, -11.0))
    seen, out = set(), []
    for t, sc in vocab:
        if t not in seen:
            seen.add(t)
            out.append((t, sc))
    return out


def make_t5_tokenizer(vocab, max_len: int):
    from transformers import T5TokenizerFast

    return T5TokenizerFast(vocab=vocab, extra_ids=0, model_max_length=max_len)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def seed_all(seed: int):
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def lr_at(step, total, lr, warmup=50):
    if step < warmup:
        return lr * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def make_text_encoder(tcfg: dict, vocab_size: int, bos: int, eos: int, pad: int, projection: bool):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    c = CLIPTextConfig(
        vocab_size=vocab_size, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad, **tcfg
    )
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(c)


# --------------------------------------------------------------------------------------------
# VAE
# --------------------------------------------------------------------------------------------
def build_vae(cfg, world: ShapeWorld):
    from diffusers import AutoencoderKL

    vc = cfg["vae"]
    rng = seed_all(cfg["seeds"]["vae"])
    vae = AutoencoderKL(**vc["arch"], sample_size=cfg["image_size"]).to(DEV)
    opt = torch.optim.AdamW(vae.parameters(), lr=vc["lr"], weight_decay=0.0)
    steps, bs = vc["steps"], vc["batch"]
    t0 = time.time()
    rec = None
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, vc["lr"])
        x, _ = world.batch(rng, bs)
        x = x.to(DEV)
        c = vc.get("crop")
        if c:  # train on random crops: the VAE is convolutional, crops are 4x cheaper
            i, j = (int(v) * 8 for v in rng.integers(0, (world.size - c) // 8 + 1, size=2))
            x = x[:, :, i : i + c, j : j + c]
        post = vae.encode(x).latent_dist
        z = post.mean  # deterministic autoencoder; the KL term only keeps the latents tame
        y = vae.decode(z).sample
        rec = (y - x).abs().mean() + ((y - x) ** 2).mean()
        kl = post.kl().mean() / x[0].numel()
        loss = rec + vc["kl_weight"] * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"vae step {step}/{steps} rec {rec.item():.4f} kl {kl.item():.3f} ({time.time() - t0:.0f}s)")
    vae.eval()
    # latent statistics -> scaling_factor / shift_factor (as for the real SD / SD3 VAEs)
    with torch.no_grad():
        x, _ = world.batch(np.random.default_rng(cfg["seeds"]["vae"] + 1000), 256)
        z = vae.encode(x.to(DEV)).latent_dist.mean
    mean, std = z.mean().item(), z.std().item()
    # scaling_factor makes the diffusion latents' std vc["diffusion_latent_std"] (1.0 in SD; smaller
    # values put more of the sampling trajectory into the noise-dominated regime, which makes the
    # image more sensitive to the sampler: steps, scheduler, final sigma)
    stats = {"latent_mean": mean, "latent_std": std, "scaling_factor": round(vc.get("diffusion_latent_std", 1.0) / std, 5),
             "shift_factor": round(mean, 5), "final_rec_loss": rec.item() if steps else None}
    log("vae latent stats", stats)
    return vae, stats


# --------------------------------------------------------------------------------------------
# Denoisers
# --------------------------------------------------------------------------------------------
def train_loop(name, cfg, fam, world, rng, params, loss_fn):
    tc = fam["train"]
    opt = torch.optim.AdamW(params, lr=tc["lr"], weight_decay=tc.get("weight_decay", 0.0))
    steps, bs = tc["steps"], tc["batch"]
    t0 = time.time()
    ema = None
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, tc["lr"])
        x, prompts = world.batch(rng, bs)
        loss = loss_fn(x, prompts)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % 200 == 0 or step == steps - 1:
            log(f"{name} step {step}/{steps} loss {ema:.4f} ({time.time() - t0:.0f}s)")
    return ema


def drop_prompts(rng, prompts, p):
    return ["" if rng.random() < p else q for q in prompts]


def build_sd1(cfg, fam, world, vae, vstats, tok):
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel, DDPMScheduler
    import diffusers

    rng = seed_all(cfg["seeds"][fam["name"]])
    te = make_text_encoder(fam["text_encoder"], len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id, False)
    unet = UNet2DConditionModel(**fam["unet"])
    sched_cls = getattr(diffusers, fam["scheduler"]["class"])
    sched = sched_cls.from_config(fam["scheduler"]["config"])
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=te, tokenizer=tok, unet=unet, scheduler=sched,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.to(DEV)
    train_sched = DDPMScheduler.from_config(sched.config)
    acp = train_sched.alphas_cumprod
    sf = vstats["scaling_factor"]
    vae.requires_grad_(False)

    def loss_fn(x, prompts):
        z0 = x * sf
        prompts = drop_prompts(rng, prompts, fam["train"]["p_uncond"])
        emb, _ = pipe.encode_prompt(prompts, DEV, 1, False)
        t = torch.from_numpy(rng.integers(0, acp.shape[0], size=z0.shape[0])).to(DEV)
        eps = torch.randn(z0.shape, device=DEV)
        a = acp.to(DEV)[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * eps
        pred = unet(zt, t, encoder_hidden_states=emb).sample
        return ((pred - eps) ** 2).mean()

    params = [p for p in list(unet.parameters()) + list(te.parameters())]
    train_loop(fam["name"], cfg, fam, world, rng, params, loss_fn)
    unet.eval(); te.eval()
    return pipe


def build_sdxl(cfg, fam, world, vae, vstats, tok, tok2):
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel, DDPMScheduler
    import diffusers

    rng = seed_all(cfg["seeds"][fam["name"]])
    te1 = make_text_encoder(fam["text_encoder"], len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id, False)
    te2 = make_text_encoder(fam["text_encoder_2"], len(tok2), tok2.bos_token_id, tok2.eos_token_id, tok2.pad_token_id, True)
    unet = UNet2DConditionModel(**fam["unet"])
    sched = getattr(diffusers, fam["scheduler"]["class"]).from_config(fam["scheduler"]["config"])
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=te1, text_encoder_2=te2, tokenizer=tok, tokenizer_2=tok2,
                                     unet=unet, scheduler=sched, force_zeros_for_empty_prompt=True)
    pipe.to(DEV)
    acp = DDPMScheduler.from_config(sched.config).alphas_cumprod
    sf = vstats["scaling_factor"]
    vae.requires_grad_(False)
    S = cfg["image_size"]
    p_zero = fam["train"]["p_zero_uncond"]

    def loss_fn(x, prompts):
        z0 = x * sf
        prompts = drop_prompts(rng, prompts, fam["train"]["p_uncond"])
        emb, _, pooled, _ = pipe.encode_prompt(prompts, device=DEV, num_images_per_prompt=1,
                                               do_classifier_free_guidance=False)
        # the pipeline uses all-zero embeddings for an absent negative prompt
        zero = torch.tensor([rng.random() < p_zero for _ in prompts], device=DEV).view(-1, 1)
        emb = torch.where(zero.view(-1, 1, 1), torch.zeros_like(emb), emb)
        pooled = torch.where(zero, torch.zeros_like(pooled), pooled)
        time_ids = torch.tensor([[S, S, 0, 0, S, S]], dtype=torch.float32, device=DEV).repeat(z0.shape[0], 1)
        t = torch.from_numpy(rng.integers(0, acp.shape[0], size=z0.shape[0])).to(DEV)
        eps = torch.randn(z0.shape, device=DEV)
        a = acp.to(DEV)[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * eps
        pred = unet(zt, t, encoder_hidden_states=emb,
                    added_cond_kwargs={"text_embeds": pooled, "time_ids": time_ids}).sample
        return ((pred - eps) ** 2).mean()

    params = list(unet.parameters()) + list(te1.parameters()) + list(te2.parameters())
    train_loop(fam["name"], cfg, fam, world, rng, params, loss_fn)
    unet.eval(); te1.eval(); te2.eval()
    return pipe


def build_flow(cfg, fam, world, vae, vstats, tok, tok2, tok3):
    from diffusers import StableDiffusion3Pipeline, SD3Transformer2DModel
    import diffusers

    from transformers import T5Config, T5EncoderModel

    rng = seed_all(cfg["seeds"][fam["name"]])
    te1 = make_text_encoder(fam["text_encoder"], len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id, True)
    te2 = make_text_encoder(fam["text_encoder_2"], len(tok2), tok2.bos_token_id, tok2.eos_token_id, tok2.pad_token_id, True)
    te3 = T5EncoderModel(T5Config(vocab_size=len(tok3), pad_token_id=tok3.pad_token_id, eos_token_id=tok3.eos_token_id,
                                  decoder_start_token_id=tok3.pad_token_id, **fam["text_encoder_3"]))
    tr = SD3Transformer2DModel(**fam["transformer"])
    sched = getattr(diffusers, fam["scheduler"]["class"]).from_config(fam["scheduler"]["config"])
    pipe = StableDiffusion3Pipeline(transformer=tr, scheduler=sched, vae=vae, text_encoder=te1, tokenizer=tok,
                                    text_encoder_2=te2, tokenizer_2=tok2, text_encoder_3=te3, tokenizer_3=tok3)
    pipe.to(DEV)
    sf, sh = vstats["scaling_factor"], vstats["shift_factor"]
    shift = fam["scheduler"]["config"].get("shift", 1.0)
    vae.requires_grad_(False)

    def loss_fn(x, prompts):
        z0 = (x - sh) * sf
        prompts = drop_prompts(rng, prompts, fam["train"]["p_uncond"])
        emb, _, pooled, _ = pipe.encode_prompt(prompts, None, None, device=DEV, num_images_per_prompt=1,
                                               do_classifier_free_guidance=False)
        u = torch.from_numpy(rng.random(z0.shape[0])).float().to(DEV)
        s = shift * u / (1 + (shift - 1) * u)  # same distribution as the shifted inference sigmas
        eps = torch.randn(z0.shape, device=DEV)
        sig = s.view(-1, 1, 1, 1)
        zt = (1 - sig) * z0 + sig * eps
        pred = tr(hidden_states=zt, timestep=s * 1000, encoder_hidden_states=emb, pooled_projections=pooled).sample
        return ((pred - (eps - z0)) ** 2).mean()

    params = list(tr.parameters()) + list(te1.parameters()) + list(te2.parameters()) + list(te3.parameters())
    train_loop(fam["name"], cfg, fam, world, rng, params, loss_fn)
    tr.eval(); te1.eval(); te2.eval(); te3.eval()
    return pipe


# --------------------------------------------------------------------------------------------
# Discriminative fine-tuning: make every stored generation parameter matter
# --------------------------------------------------------------------------------------------
def _fresh_scheduler(pipe_default_cfg, spec):
    import diffusers

    name, over = spec if isinstance(spec, (list, tuple)) else (spec, {})
    return getattr(diffusers, name).from_config({**pipe_default_cfg, **over})


def render(pipe, kind, prompt, neg, seed, steps, guidance, sched, size, jitter=0.0, base_cfg=None):
    """Differentiable re-implementation of the pipelines' __call__ (CFG, default arguments otherwise)."""
    import inspect

    sched = _fresh_scheduler(base_cfg, sched)
    gen = torch.Generator("cpu").manual_seed(seed)
    sched.set_timesteps(steps, device=DEV)
    h = w = size // pipe.vae_scale_factor
    if kind == "flow":
        pe, npe, pp, npp = pipe.encode_prompt(prompt, None, None, device=DEV, num_images_per_prompt=1,
                                              do_classifier_free_guidance=True, negative_prompt=neg)
        emb, pooled = torch.cat([npe, pe]), torch.cat([npp, pp])
        lat = torch.randn((1, pipe.transformer.config.in_channels, h, w), generator=gen).to(DEV)
    elif kind == "sdxl":
        pe, npe, pp, npp = pipe.encode_prompt(prompt, device=DEV, num_images_per_prompt=1,
                                              do_classifier_free_guidance=True, negative_prompt=neg)
        emb, pooled = torch.cat([npe, pe]), torch.cat([npp, pp])
        tid = torch.tensor([[size, size, 0, 0, size, size]] * 2, dtype=torch.float32, device=DEV)
        lat = torch.randn((1, pipe.unet.config.in_channels, h, w), generator=gen).to(DEV) * sched.init_noise_sigma
    else:
        pe, npe = pipe.encode_prompt(prompt, DEV, 1, True, neg)
        emb = torch.cat([npe, pe])
        lat = torch.randn((1, pipe.unet.config.in_channels, h, w), generator=gen).to(DEV) * sched.init_noise_sigma
    if jitter:  # stability probe: perturb every input a little (initial latent and text embeddings)
        jg = torch.Generator("cpu").manual_seed(seed + 1)
        lat = lat * (1 + jitter * torch.randn(lat.shape, generator=jg).to(DEV))
        emb = emb * (1 + jitter * torch.randn(emb.shape, generator=jg).to(DEV))
        if kind != "sd1":
            pooled = pooled * (1 + jitter * torch.randn(pooled.shape, generator=jg).to(DEV))
    params = inspect.signature(sched.step).parameters
    kw = {}
    if "generator" in params and kind != "flow":
        kw["generator"] = gen
    if "eta" in params:
        kw["eta"] = 0.0
    for t in sched.timesteps:
        inp = torch.cat([lat] * 2)
        if kind == "flow":
            out = pipe.transformer(hidden_states=inp, timestep=t.expand(2), encoder_hidden_states=emb,
                                   pooled_projections=pooled, return_dict=False)[0]
        else:
            inp = sched.scale_model_input(inp, t)
            extra = {"added_cond_kwargs": {"text_embeds": pooled, "time_ids": tid}} if kind == "sdxl" else {}
            out = pipe.unet(inp, t, encoder_hidden_states=emb, return_dict=False, **extra)[0]
        u, c = out.chunk(2)
        lat = sched.step(u + guidance * (c - u), t, lat, return_dict=False, **kw)[0]
    sf = pipe.vae.config.scaling_factor
    shift = pipe.vae.config.shift_factor or 0.0
    img = pipe.vae.decode(lat / sf + shift, return_dict=False)[0]
    return (img / 2 + 0.5)  # [0, 1] before clamping


def dpsnr(a, b):
    a, b = a.clamp(0, 1), b.clamp(0, 1)
    return 10 * torch.log10(1.0 / ((a - b) ** 2).mean().clamp_min(1e-12))


def discriminative_finetune(name, pipe, kind, fam, cfg, corpus, rng):
    dc = fam["discriminative"]
    scheds = [tuple(x) if isinstance(x, list) else x for x in dc["schedulers"]]
    base_cfg = dict(pipe.scheduler.config)
    params = [p for m in pipe.components.values() if isinstance(m, torch.nn.Module) for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=dc["lr"])
    words = cfg["data"]["dft_words"]
    target = dc["target_psnr"]
    t0 = time.time()
    hist = []
    close = [[tuple(x) if isinstance(x, list) else x for x in pair] for pair in dc.get("close_scheduler_pairs", [])]
    fields = dc["fields"]
    for step in range(dc["steps"]):
        a = dict(prompt=corpus[rng.integers(len(corpus))], neg="" if rng.random() < 0.5 else words[rng.integers(len(words))],
                 seed=int(rng.integers(1 << 30)), steps=int(rng.integers(dc["steps_range"][0], dc["steps_range"][1] + 1)),
                 guidance=float(rng.uniform(*dc["guidance_range"])), sched=scheds[rng.integers(len(scheds))],
                 size=cfg["image_size"], jitter=0.0)
        if "sched_close" in fields and rng.random() < 0.5:
            pair = close[rng.integers(len(close))]
            a["sched"] = pair[0]
        ia = render(pipe, kind, base_cfg=base_cfg, **a)
        loss = torch.relu(dc["min_std"] - ia.clamp(0, 1).std()) * 100
        loss = loss + ((ia - ia.clamp(0, 1)) ** 2).mean() * dc["saturation_weight"]
        stats = []
        for field in fields:
            b = dict(a)
            if field == "guidance":
                b["guidance"] = a["guidance"] + (0.5 if rng.random() < 0.5 else -0.5)
            elif field == "steps":
                b["steps"] = a["steps"] + (1 if rng.random() < 0.5 else -1)
            elif field == "negative":
                b["neg"] = words[rng.integers(len(words))] if a["neg"] == "" else ""
            elif field == "prompt":
                ws = a["prompt"].split() or ["a"]
                ws[rng.integers(len(ws))] = words[rng.integers(len(words))]
                b["prompt"] = " ".join(ws)
            elif field == "scheduler":
                while b["sched"] == a["sched"]:
                    b["sched"] = scheds[rng.integers(len(scheds))]
            elif field == "sched_close":
                pair = [p for p in close if a["sched"] in p]
                pair = pair[0] if pair else close[rng.integers(len(close))]
                b["sched"] = pair[1] if a["sched"] == pair[0] else pair[0]
            elif field == "stability":
                b["jitter"] = dc["stability_jitter"]
            ib = render(pipe, kind, base_cfg=base_cfg, **b)
            ps = dpsnr(ia, ib)
            if field == "stability":  # a tiny perturbation must stay tiny: no chaos
                loss = loss + torch.relu(dc["stability_psnr"] - ps) ** 2
            else:
                loss = loss + torch.relu(ps - target) ** 2
            stats.append(ps.item())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        hist.append(stats)
        if step % 10 == 0 or step == dc["steps"] - 1:
            recent = np.array(hist[-10:])
            log(f"{name} dft step {step}/{dc['steps']} psnr " + " ".join(f"{f}={v:.1f}" for f, v in zip(fields, recent.mean(0)))
                + f" ({time.time() - t0:.0f}s)")
    for p in params:
        p.requires_grad_(False)
    for m in pipe.components.values():
        if isinstance(m, torch.nn.Module):
            m.eval()


# --------------------------------------------------------------------------------------------
# save + describe
# --------------------------------------------------------------------------------------------
def component_classes(pipe):
    out = {}
    for k, v in pipe.components.items():
        out[k] = None if v is None else type(v).__name__
    return out


def save_pipeline(pipe, fam, cfg, vstats, outdir: Path, tok_dirs: dict, build_s: float):
    pipe.to("cpu")
    if outdir.exists():
        shutil.rmtree(outdir)
    pipe.save_pretrained(str(outdir), safe_serialization=True)
    # keep the slow-tokenizer files (vocab.json + merges.txt) next to tokenizer.json, so that
    # older transformers releases load the tokenizers too
    for sub, src in tok_dirs.items():
        for fn in ("vocab.json", "merges.txt"):
            shutil.copyfile(src / fn, outdir / sub / fn)
    mi = json.loads((outdir / "model_index.json").read_text())
    if mi.get("tokenizer_3", [None])[0] == "transformers":
        # transformers 5 names the tokenizers-backed class T5Tokenizer; T5TokenizerFast (same class in
        # transformers 5) is what older releases need to read tokenizer.json without sentencepiece.
        mi["tokenizer_3"] = ["transformers", "T5TokenizerFast"]
        (outdir / "model_index.json").write_text(json.dumps(mi, indent=2, sort_keys=True) + "\n")
    bad = [p for p in outdir.rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt")]
    if bad:
        raise RuntimeError(f"pickled weights written: {bad}")
    files = sorted(outdir.rglob("*.safetensors"))
    vae = pipe.vae
    vae_scale = 2 ** (len(vae.config.block_out_channels) - 1)
    den = getattr(pipe, "unet", None) or getattr(pipe, "transformer")
    latent_ch = den.config.in_channels
    sample = den.config.sample_size
    desc = {
        "name": fam["name"],
        "aigif_conformance_model": True,
        "description": fam["description"],
        "pipeline_class": type(pipe).__name__,
        "components": component_classes(pipe),
        "scheduler": {"class": type(pipe.scheduler).__name__, "config": {k: v for k, v in dict(pipe.scheduler.config).items() if not k.startswith("_")}},
        "latent_channels": latent_ch,
        "vae_scale_factor": vae_scale,
        "vae_scaling_factor": vae.config.scaling_factor,
        "vae_shift_factor": vae.config.shift_factor,
        "sample_size": sample,
        "default_width": sample * vae_scale,
        "default_height": sample * vae_scale,
        "tokenizer_model_max_length": pipe.tokenizer.model_max_length,
        "defaults": fam["defaults"],
        "build": {
            "script": "tools/build_conformance_models.py",
            "config": "tools/conformance_models.json",
            "seed": cfg["seeds"][fam["name"]],
            "torch": torch.__version__,
            "diffusers": __import__("diffusers").__version__,
            "transformers": __import__("transformers").__version__,
            "threads": torch.get_num_threads(),
            "train_seconds": round(build_s, 1),
        },
        "files": {str(p.relative_to(outdir)): {"sha256": sha256(p), "bytes": p.stat().st_size} for p in files},
        "total_bytes": sum(p.stat().st_size for p in outdir.rglob("*") if p.is_file()),
    }
    (outdir / "aigif-model.json").write_text(json.dumps(desc, indent=2) + "\n")
    log(f"saved {outdir} ({desc['total_bytes'] / 1e6:.2f} MB)")
    return desc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", action="append", help="build only this model (repeatable)")
    ap.add_argument("--steps-scale", type=float, default=1.0, help="scale all training steps (for quick experiments)")
    ap.add_argument("--cache-dir", type=Path, help="cache the trained VAE here (experiments)")
    ap.add_argument("--device", default="cpu", help="train on this torch device (experiments only)")
    args = ap.parse_args(argv)
    global DEV
    DEV = torch.device(args.device)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=DEV.type != "cpu")
    import diffusers.utils.logging as dl
    import transformers.utils.logging as tl
    dl.set_verbosity_error(); tl.set_verbosity_error()
    dl.disable_progress_bar()

    cfg = json.loads(args.config.read_text())
    if args.steps_scale != 1.0:
        cfg["vae"]["steps"] = max(1, int(cfg["vae"]["steps"] * args.steps_scale))
        for f in cfg["models"]:
            f["train"]["steps"] = max(1, int(f["train"]["steps"] * args.steps_scale))
    t_all = time.time()
    world = ShapeWorld(cfg)

    # tokenizers
    tcfg = cfg["tokenizer"]
    rng = np.random.default_rng(cfg["seeds"]["tokenizer"])
    corpus = [world.sample(rng)[1] for _ in range(tcfg["corpus_prompts"])]
    corpus += [" ".join(cfg["data"]["extra_words"])]
    vocab, merges = learn_bpe(corpus, tcfg["num_merges"])
    log(f"tokenizer: {len(vocab)} tokens, {len(merges)} merges")
    tmp = args.out / ".tokenizer-build"
    tok_dirs = {"tokenizer": tmp / "tokenizer", "tokenizer_2": tmp / "tokenizer_2"}
    tok = write_tokenizer(tok_dirs["tokenizer"], vocab, merges, tcfg["model_max_length"], EOS)
    tok2 = write_tokenizer(tok_dirs["tokenizer_2"], vocab, merges, tcfg["model_max_length"], "!")

    tok3 = make_t5_tokenizer(t5_vocab(corpus, cfg["data"]["extra_words"]), cfg["tokenizer"]["t5_model_max_length"])
    log(f"t5 tokenizer: {len(tok3)} tokens")

    vae, vstats = None, None
    if args.cache_dir:  # experiments: reuse a VAE trained from the identical config
        key = hashlib.sha256(json.dumps([cfg["vae"], cfg["data"], cfg["image_size"], cfg["seeds"]["vae"], str(DEV)],
                                        sort_keys=True).encode()).hexdigest()[:16]
        cpath = args.cache_dir / f"vae-{key}"
        if (cpath / "config.json").exists():
            from diffusers import AutoencoderKL
            vae = AutoencoderKL.from_pretrained(str(cpath)).to(DEV)
            vstats = json.loads((cpath / "stats.json").read_text())
            log("reusing cached VAE", cpath)
    if vae is None:
        vae, vstats = build_vae(cfg, world)
        if args.cache_dir:
            vae.save_pretrained(str(cpath))
            (cpath / "stats.json").write_text(json.dumps(vstats))
    t0 = time.time()
    n_train = cfg["train_set_size"] if any(f["train"]["steps"] for f in cfg["models"]) else 64
    data = LatentSet(world, vae, n_train, cfg["seeds"]["data"])
    log(f"encoded {len(data.prompts)} training images ({time.time() - t0:.0f}s)")

    results = {}
    for fam in cfg["models"]:
        if args.only and fam["name"] not in args.only:
            continue
        t0 = time.time()
        from diffusers import AutoencoderKL
        v = AutoencoderKL.from_config(vae.config)
        v.load_state_dict(vae.state_dict())
        v.to(DEV)
        v.register_to_config(scaling_factor=vstats["scaling_factor"],
                             shift_factor=vstats["shift_factor"] if fam["kind"] == "flow" else None)
        v.eval()
        if fam["kind"] == "sd1":
            pipe = build_sd1(cfg, fam, data, v, vstats, tok)
            dirs = {"tokenizer": tok_dirs["tokenizer"]}
        elif fam["kind"] == "sdxl":
            pipe = build_sdxl(cfg, fam, data, v, vstats, tok, tok2)
            dirs = tok_dirs
        elif fam["kind"] == "flow":
            pipe = build_flow(cfg, fam, data, v, vstats, tok, tok2, tok3)
            dirs = tok_dirs
        else:
            raise ValueError(fam["kind"])
        if fam.get("discriminative", {}).get("steps"):
            drng = np.random.default_rng(cfg["seeds"][fam["name"]] + 100)
            torch.manual_seed(cfg["seeds"][fam["name"]] + 100)
            discriminative_finetune(fam["name"], pipe, fam["kind"], fam, cfg, corpus, drng)
        results[fam["name"]] = save_pipeline(pipe, fam, cfg, vstats, args.out / fam["name"], dirs, time.time() - t0)
    shutil.rmtree(tmp, ignore_errors=True)
    log(f"done in {time.time() - t_all:.0f}s")
    return results


if __name__ == "__main__":
    main()
