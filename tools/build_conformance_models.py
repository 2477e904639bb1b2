#!/usr/bin/env python3
"""Build the tiny AIGIF conformance models (vectors/models/<name>/).

Three tiny diffusers pipelines, built deterministically (fixed seeds, one CPU thread, no
downloads) from tools/conformance_models.json:

  tiny-sd1   StableDiffusionPipeline    UNet2DConditionModel + AutoencoderKL + CLIPTextModel
  tiny-sdxl  StableDiffusionXLPipeline  + CLIPTextModelWithProjection, "text_time" conditioning
  tiny-flow  StableDiffusion3Pipeline   SD3Transformer2DModel + FlowMatchEulerDiscreteScheduler,
                                        two CLIP encoders + a tiny T5 encoder

How:
  1. A CLIP-style byte-level BPE tokenizer (vocab.json + merges.txt) is learned from a synthetic
     corpus of short prompts about coloured shapes; the T5 tokenizer is a unigram vocabulary of
     the same corpus.
  2. Every network starts from its library's default random initialisation (fixed seed).
  3. "Discriminative training": the pipeline's own sampling loop is re-implemented
     differentiably (bit-identical to the pipeline's __call__), and all weights are trained so
     that changing one generation parameter -- guidance, steps, negative prompt, prompt,
     scheduler -- moves the decoded image below a target PSNR (random prompts, seeds,
     guidance and step counts, so the test's fixed cases are never trained on).  Two more
     terms stand in for rounding, as relative noise in the inputs and in every model
     evaluation: at about float16's rounding error (1e-4 to 5e-4, per model) the image must
     change ("precision"), at 1e-6 to 1e-5, far above float32's, it must not ("stability":
     a conforming decoder on other hardware still reproduces the image).  Random weights alone are far
     too insensitive (guidance 7.5 -> 7.0 at ~60 dB), and a few CPU minutes of ordinary
     denoising training give smooth models that are no better (measured while designing
     this: 40-55 dB).

  4. An "activation offset" (add_activation_offset) makes the dtype field show: a large
     constant in the transformer residual stream, exactly cancelled in real arithmetic.

The images are abstract (high-contrast blobs), not pictures of shapes; the models exist to make
every AIGIF field observable in the regenerated pixels.

Usage:
    python tools/build_conformance_models.py                  # all three into vectors/models
    python tools/build_conformance_models.py --only tiny-sd1  # one of them
    python tools/build_conformance_models.py --out /tmp/m     # somewhere else

Bit-identical rebuilds need the same CPU kind, torch build and thread count (the script forces
one thread); the committed weights are the reference: their SHA-256 are in
vectors/models/<name>/aigif-model.json.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from aigif.fsutil import sha256_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "tools" / "conformance_models.json"
DEFAULT_OUT = ROOT / "vectors" / "models"
DEV = torch.device("cpu")  # --device exists for experiments only; the reference build is CPU
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


# --------------------------------------------------------------------------------------------
# Synthetic prompts about coloured shapes
# --------------------------------------------------------------------------------------------
def sample_prompt(rng: np.random.Generator, d: dict) -> str:
    colours, shapes, sizes, positions = d["colours"], d["shapes"], d["sizes"], d["positions"]
    bg = colours[rng.integers(len(colours))]
    parts = []
    for _ in range(1 if rng.random() < 0.7 else 2):
        words = []
        if rng.random() < 0.3:
            words.append(sizes[rng.integers(len(sizes))])
        if rng.random() < 0.85:
            words.append(colours[rng.integers(len(colours))])
        if rng.random() < 0.85:
            words.append(shapes[rng.integers(len(shapes))])
        if not words:
            continue
        phrase = " ".join(words)
        if words[-1] in shapes and rng.random() < 0.7:
            phrase = ("an " if phrase[0] in "aeiou" else "a ") + phrase
        if rng.random() < 0.3:
            phrase += " at the " + positions[rng.integers(len(positions))]
        parts.append(phrase)
    text = " and ".join(parts)
    if rng.random() < 0.5 or not text:
        text = (text + " on a " if text else "") + f"{bg} background"
    return text


# --------------------------------------------------------------------------------------------
# Tokenizers
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
    """CLIP-style byte-level BPE: 256 byte symbols, 256 "</w>" variants, learned merges, specials."""
    b2u = bytes_to_unicode()
    words = Counter()
    for p in prompts:
        for w in _PRETOK.findall(p.lower()):
            words["".join(b2u[b] for b in w.encode("utf-8"))] += 1
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
    vocab = {}
    for t in base + [c + "</w>" for c in base] + ["".join(m) for m in merges] + [BOS, EOS]:
        vocab.setdefault(t, len(vocab))
    return vocab, merges


def write_clip_tokenizer(dirpath: Path, vocab, merges, max_len: int, pad_token: str):
    from transformers import CLIPTokenizer

    dirpath.mkdir(parents=True, exist_ok=True)
    (dirpath / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
    (dirpath / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    return CLIPTokenizer(vocab=str(dirpath / "vocab.json"), merges=str(dirpath / "merges.txt"),
                         pad_token=pad_token, model_max_length=max_len)


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
        vocab += [(ch, -12.0), ("\u2581" + ch, -11.0)]
    seen, out = set(), []
    for t, sc in vocab:
        if t not in seen:
            seen.add(t)
            out.append((t, sc))
    return out


# --------------------------------------------------------------------------------------------
# Pipelines (random initialisation, fixed seeds)
# --------------------------------------------------------------------------------------------
def clip_text_encoder(tcfg: dict, tok, projection: bool):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    c = CLIPTextConfig(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                       pad_token_id=tok.pad_token_id, **tcfg)
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(c)


def make_vae(cfg, fam):
    from diffusers import AutoencoderKL

    vc = cfg["vae"]
    torch.manual_seed(cfg["seeds"]["vae"])
    vae = AutoencoderKL(**vc["arch"], sample_size=cfg["image_size"])
    vae.register_to_config(scaling_factor=vc["scaling_factor"],
                           shift_factor=vc["shift_factor"] if fam["kind"] == "flow" else None)
    return vae


def scheduler_config(fam: dict) -> dict:
    """The model's scheduler config; "first_beta" replaces beta_0 of the scaled_linear schedule.

    DDIM (eta 0) and Euler take the same step except the last: DDIM stops at alpha_bar_0 and keeps
    sqrt(1 - alpha_bar_0) of the predicted noise, Euler goes to sigma 0.  With SD's beta_0
    (0.00085) that residue is 3 % of the latent and no model shows it; a large beta_0 makes the
    two schedulers (and every scheduler that stops at alpha_bar_0) tell apart, and leaves the
    rest of the schedule as SD's.
    """
    c = dict(fam["scheduler"]["config"])
    fb = fam["scheduler"].get("first_beta")
    if fb is not None:
        assert c.get("beta_schedule") == "scaled_linear"
        # computed as diffusers computes scaled_linear (float32), then beta_0 replaced
        betas = torch.linspace(c["beta_start"] ** 0.5, c["beta_end"] ** 0.5, c["num_train_timesteps"],
                               dtype=torch.float32) ** 2
        c["trained_betas"] = [fb] + [float(b) for b in betas[1:]]
    return c


def make_pipeline(cfg, fam, toks):
    import diffusers
    from diffusers import SD3Transformer2DModel, StableDiffusion3Pipeline, StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel

    vae = make_vae(cfg, fam)
    torch.manual_seed(cfg["seeds"][fam["name"]])
    sched = getattr(diffusers, fam["scheduler"]["class"]).from_config(scheduler_config(fam))
    tok, tok2, tok3 = toks
    if fam["kind"] == "sd1":
        te = clip_text_encoder(fam["text_encoder"], tok, False)
        unet = UNet2DConditionModel(**fam["unet"])
        return StableDiffusionPipeline(vae=vae, text_encoder=te, tokenizer=tok, unet=unet, scheduler=sched,
                                       safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    if fam["kind"] == "sdxl":
        te1 = clip_text_encoder(fam["text_encoder"], tok, False)
        te2 = clip_text_encoder(fam["text_encoder_2"], tok2, True)
        unet = UNet2DConditionModel(**fam["unet"])
        return StableDiffusionXLPipeline(vae=vae, text_encoder=te1, text_encoder_2=te2, tokenizer=tok, tokenizer_2=tok2,
                                         unet=unet, scheduler=sched, force_zeros_for_empty_prompt=True)
    if fam["kind"] == "flow":
        from transformers import T5Config, T5EncoderModel

        te1 = clip_text_encoder(fam["text_encoder"], tok, True)
        te2 = clip_text_encoder(fam["text_encoder_2"], tok2, True)
        te3 = T5EncoderModel(T5Config(vocab_size=len(tok3), pad_token_id=tok3.pad_token_id, eos_token_id=tok3.eos_token_id,
                                      decoder_start_token_id=tok3.pad_token_id, **fam["text_encoder_3"]))
        tr = SD3Transformer2DModel(**fam["transformer"])
        return StableDiffusion3Pipeline(transformer=tr, scheduler=sched, vae=vae, text_encoder=te1, tokenizer=tok,
                                        text_encoder_2=te2, tokenizer_2=tok2, text_encoder_3=te3, tokenizer_3=tok3)
    raise ValueError(fam["kind"])


# --------------------------------------------------------------------------------------------
# Differentiable sampling (bit-identical to the pipelines' __call__ with CFG) + training
# --------------------------------------------------------------------------------------------
def fresh_scheduler(base_cfg: dict, spec):
    import diffusers

    name, over = spec if isinstance(spec, (list, tuple)) else (spec, {})
    return getattr(diffusers, name).from_config({**base_cfg, **over})


def render(pipe, kind, prompt, neg, seed, steps, guidance, sched, size, jitter=0.0, base_cfg=None):
    """(decoded image in [0, 1] before clamping, final latent), as pipe(prompt, negative_prompt=neg, ...) makes them."""
    sched = fresh_scheduler(base_cfg, sched)
    gen = torch.Generator("cpu").manual_seed(seed)
    sched.set_timesteps(steps, device=DEV)
    h = w = size // pipe.vae_scale_factor
    pooled = tid = None
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
    jg = torch.Generator("cpu").manual_seed(seed + 1)

    def jit(x):
        """Relative noise standing in for rounding: in the inputs and in every model evaluation."""
        return x * (1 + jitter * torch.randn(x.shape, generator=jg).to(DEV)) if jitter else x

    lat, emb = jit(lat), jit(emb)
    if pooled is not None:
        pooled = jit(pooled)
    params = inspect.signature(sched.step).parameters
    kw = {}
    if "generator" in params and kind != "flow":  # the SD3 pipeline passes no generator to step()
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
        u, c = jit(out).chunk(2)
        lat = sched.step(u + guidance * (c - u), t, lat, return_dict=False, **kw)[0]
    img = pipe.vae.decode(lat / pipe.vae.config.scaling_factor + (pipe.vae.config.shift_factor or 0.0), return_dict=False)[0]
    return img / 2 + 0.5, lat


def dpsnr(a, b):
    return 10 * torch.log10(1.0 / ((a.clamp(0, 1) - b.clamp(0, 1)) ** 2).mean().clamp_min(1e-12))


def lr_at(step, total, lr, floor, warmup=5):
    if step < warmup:
        return lr * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def spec(x):
    return tuple(x) if isinstance(x, list) else x


def discriminative_training(pipe, fam, cfg, prompts, rng):
    name, kind, dc = fam["name"], fam["kind"], fam["discriminative"]
    scheds = [spec(x) for x in dc["schedulers"]]
    close = [[spec(x) for x in pair] for pair in dc["close_scheduler_pairs"]]
    words, fields = cfg["data"]["words"], dc["fields"]
    base_cfg = dict(pipe.scheduler.config)
    modules = [m for m in pipe.components.values() if isinstance(m, torch.nn.Module)]
    params = [p for m in modules for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=dc["lr"])
    t0, hist = time.time(), []
    for step in range(dc["steps"]):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, dc["steps"], dc["lr"], dc["lr_floor"])
        a = dict(prompt=prompts[rng.integers(len(prompts))],
                 neg="" if rng.random() < 0.5 else words[rng.integers(len(words))],
                 seed=int(rng.integers(1 << 30)), steps=int(rng.integers(dc["steps_range"][0], dc["steps_range"][1] + 1)),
                 guidance=float(rng.uniform(*dc["guidance_range"])), sched=scheds[rng.integers(len(scheds))],
                 size=cfg["image_size"])
        if "sched_close" in fields and rng.random() < 0.5:
            a["sched"] = close[rng.integers(len(close))][0]
        ia, la = render(pipe, kind, base_cfg=base_cfg, **a)
        # keep the image in range and not flat, and the final latents near unit scale (as real models
        # do; huge latents would hide the small final-step differences between schedulers)
        loss = torch.relu(dc["min_std"] - ia.clamp(0, 1).std()) * 100
        loss = loss + ((ia - ia.clamp(0, 1)) ** 2).mean() * dc["saturation_weight"]
        loss = loss + torch.log(la.std() / dc["latent_std"]) ** 2 * dc["latent_weight"]
        todo = [fields[k] for k in sorted(rng.choice(len(fields), size=min(dc["fields_per_step"], len(fields)), replace=False))]
        if step % dc["stability_every"] == 0:
            todo.append("stability")
        stats = {}
        for field in todo:
            b = dict(a)
            if field == "guidance":
                b["guidance"] = a["guidance"] + (0.5 if rng.random() < 0.5 else -0.5)
            elif field == "steps":
                b["steps"] = a["steps"] + (1 if rng.random() < 0.5 else -1)
            elif field == "negative":
                b["neg"] = words[rng.integers(len(words))] if a["neg"] == "" else ""
            elif field == "prompt":
                ws = a["prompt"].split()
                ws[rng.integers(len(ws))] = words[rng.integers(len(words))]
                b["prompt"] = " ".join(ws)
            elif field == "scheduler":
                while b["sched"] == a["sched"]:
                    b["sched"] = scheds[rng.integers(len(scheds))]
            elif field == "sched_close":  # pairs that differ only slightly (e.g. DDIM vs Euler)
                pair = ([p for p in close if a["sched"] in p] or [close[rng.integers(len(close))]])[0]
                b["sched"] = pair[1] if a["sched"] == pair[0] else pair[0]
            elif field == "precision":  # rounding at float16's unit roundoff must show (dtype field)
                b["jitter"] = dc["precision_jitter"]
            elif field == "stability":  # rounding far above float32's must not
                b["jitter"] = dc["stability_jitter"]
            ps = dpsnr(ia, render(pipe, kind, base_cfg=base_cfg, **b)[0])
            if field == "stability":  # a tiny perturbation must stay tiny (no chaotic amplification)
                loss = loss + torch.relu(dc["stability_psnr"] - ps) ** 2
            else:  # a changed field must change the image
                loss = loss + torch.relu(ps - dc["target_psnr"]) ** 2 * dc["field_weights"].get(field, 1.0)
            stats[field] = ps.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        hist.append(stats)
        if step % 10 == 0 or step == dc["steps"] - 1:
            recent = {f: [h[f] for h in hist[-10:] if f in h] for f in fields + ["stability"]}
            log(f"{name} step {step}/{dc['steps']} PSNR " + " ".join(f"{f}={np.mean(v):.1f}" for f, v in recent.items() if v)
                + f" ({time.time() - t0:.0f}s)")
    for p in params:
        p.requires_grad_(False)
    for m in modules:
        m.eval()
    return time.time() - t0


def add_activation_offset(pipe, kind: str, c: float):
    """Add the constant c to every channel of the denoiser's transformer residual stream.

    Function-preserving in real arithmetic: every reader of that stream sees it through a
    LayerNorm (BasicTransformerBlock's norm1-3, SD3's AdaLayerNormZero and norm_out), which
    removes a common offset, and the UNet's proj_out takes c * rowsum(W) off again.  In floating
    point the stream is stored with an absolute precision of ulp(c): 2^-13 at c = 1024 in
    float32 (below what the image shows), 1 in float16 and 8 in bfloat16 -- so a decoder that
    computes in a dtype other than the file's makes a visibly different image.  (Large constant
    activations of this kind occur in real transformers; they are why half precision changes
    real images.)  Training alone made rounding at float16's level show only at ~42 dB.
    """
    from diffusers.models.transformers.transformer_2d import Transformer2DModel

    with torch.no_grad():
        if kind == "flow":
            pipe.transformer.pos_embed.proj.bias += c
            return
        for m in pipe.unet.modules():
            if isinstance(m, Transformer2DModel):
                m.proj_in.bias += c
                w = m.proj_out.weight  # Linear (out, in) or 1x1 Conv2d (out, in, 1, 1)
                shift = c * w.sum(dim=tuple(range(1, w.dim())))
                # the compensated bias must stay far inside float16's range (65504)
                assert shift.abs().max().item() < 16384, "activation offset too large for float16"
                m.proj_out.bias -= shift


# --------------------------------------------------------------------------------------------
# Save + describe
# --------------------------------------------------------------------------------------------
def save_pipeline(pipe, fam, cfg, outdir: Path, tok_dirs: dict, train_s: float):
    pipe.to("cpu")
    if outdir.exists():
        shutil.rmtree(outdir)
    pipe.save_pretrained(str(outdir), safe_serialization=True)
    # vocab.json + merges.txt next to tokenizer.json: older transformers releases read these
    for sub in ("tokenizer", "tokenizer_2"):
        if (outdir / sub).is_dir():
            for fn in ("vocab.json", "merges.txt"):
                shutil.copyfile(tok_dirs[sub] / fn, outdir / sub / fn)
    mi = json.loads((outdir / "model_index.json").read_text())
    if mi.get("tokenizer_3", [None])[0] == "transformers":
        # transformers 5 calls its tokenizers-backed class T5Tokenizer; T5TokenizerFast is the same
        # class there, and the name older releases need to read tokenizer.json without sentencepiece
        mi["tokenizer_3"] = ["transformers", "T5TokenizerFast"]
        (outdir / "model_index.json").write_text(json.dumps(mi, indent=2, sort_keys=True) + "\n")
    bad = [p for p in outdir.rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt")]
    if bad:
        raise RuntimeError(f"pickled weights written: {bad}")
    den = getattr(pipe, "unet", None) or pipe.transformer
    vae_scale = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    # every file diffusers reads (configs, tokenizer files, weights), not the weights alone: each one
    # decides the image, and tools/sync_model_registry.py lists them all in the registry (SPEC.md §12.2)
    files = sorted((p for p in outdir.rglob("*") if p.is_file()), key=lambda p: p.relative_to(outdir).as_posix().encode())
    desc = {
        "name": fam["name"],
        "description": fam["description"],
        "pipeline_class": type(pipe).__name__,
        "components": {k: (None if v is None else type(v).__name__) for k, v in pipe.components.items()},
        "scheduler": {"class": type(pipe.scheduler).__name__,
                      "config": {k: v for k, v in dict(pipe.scheduler.config).items() if not k.startswith("_")}},
        "latent_channels": den.config.in_channels,
        "vae_scale_factor": vae_scale,
        "vae_scaling_factor": pipe.vae.config.scaling_factor,
        "vae_shift_factor": pipe.vae.config.shift_factor,
        "sample_size": den.config.sample_size,
        "default_width": den.config.sample_size * vae_scale,
        "default_height": den.config.sample_size * vae_scale,
        "tokenizer_model_max_length": pipe.tokenizer.model_max_length,
        "vector_defaults": fam["defaults"],
        "build": {
            "command": "python tools/build_conformance_models.py",
            "config": "tools/conformance_models.json",
            "config_sha256": cfg["_sha256"],
            "seed": cfg["seeds"][fam["name"]],
            "torch": torch.__version__,
            "diffusers": __import__("diffusers").__version__,
            "transformers": __import__("transformers").__version__,
            "torch_threads": torch.get_num_threads(),
            "training_seconds": round(train_s, 1),
        },
        "files": {str(p.relative_to(outdir)): {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files},
        "total_bytes": sum(p.stat().st_size for p in outdir.rglob("*") if p.is_file()),
    }
    (outdir / "aigif-model.json").write_text(json.dumps(desc, indent=2) + "\n")
    log(f"saved {outdir} ({desc['total_bytes'] / 1e6:.2f} MB)")
    return desc


def main(argv=None):
    global DEV
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", action="append", help="build only this model (repeatable)")
    ap.add_argument("--steps", type=int, help="override the training steps (quick experiments)")
    ap.add_argument("--device", default="cpu", help="train on this torch device (experiments only)")
    args = ap.parse_args(argv)
    DEV = torch.device(args.device)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=DEV.type != "cpu")
    import diffusers.utils.logging as dlog
    import transformers.utils.logging as tlog
    from transformers import T5TokenizerFast

    dlog.set_verbosity_error()
    tlog.set_verbosity_error()
    dlog.disable_progress_bar()

    raw = args.config.read_bytes()
    cfg = json.loads(raw)
    cfg["_sha256"] = hashlib.sha256(raw).hexdigest()  # recorded with each model: which config built it
    t_all = time.time()
    tc = cfg["tokenizer"]
    rng = np.random.default_rng(cfg["seeds"]["prompts"])
    prompts = [sample_prompt(rng, cfg["data"]) for _ in range(tc["corpus_prompts"])]
    corpus = prompts + [" ".join(cfg["data"]["extra_words"])]
    vocab, merges = learn_bpe(corpus, tc["num_merges"])
    with tempfile.TemporaryDirectory() as tmp:
        tok_dirs = {"tokenizer": Path(tmp) / "tokenizer", "tokenizer_2": Path(tmp) / "tokenizer_2"}
        tok = write_clip_tokenizer(tok_dirs["tokenizer"], vocab, merges, tc["model_max_length"], EOS)
        tok2 = write_clip_tokenizer(tok_dirs["tokenizer_2"], vocab, merges, tc["model_max_length"], "!")
        tok3 = T5TokenizerFast(vocab=t5_vocab(corpus, cfg["data"]["extra_words"]), extra_ids=0,
                               model_max_length=tc["t5_model_max_length"])
        log(f"tokenizers: CLIP BPE {len(vocab)} tokens ({len(merges)} merges), T5 unigram {len(tok3)} tokens")

        results = {}
        for fam in cfg["models"]:
            if args.only and fam["name"] not in args.only:
                continue
            if args.steps is not None:
                fam["discriminative"]["steps"] = args.steps
            pipe = make_pipeline(cfg, fam, (tok, tok2, tok3))
            pipe.to(DEV)
            drng = np.random.default_rng(cfg["seeds"][fam["name"]] + 100)
            torch.manual_seed(cfg["seeds"][fam["name"]] + 100)
            train_s = discriminative_training(pipe, fam, cfg, prompts, drng)
            if fam.get("activation_offset"):
                add_activation_offset(pipe, fam["kind"], fam["activation_offset"])
            results[fam["name"]] = save_pipeline(pipe, fam, cfg, args.out / fam["name"], tok_dirs, train_s)
    log(f"done in {time.time() - t_all:.0f}s")
    return results


if __name__ == "__main__":
    main()
