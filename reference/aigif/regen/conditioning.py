"""Prompt conditioning (SPEC.md §12.9): a file's prompts, read in its prompt
syntax, become the text-encoder outputs the denoiser receives at each of its
evaluations.

``plain`` files never come here unless they skip CLIP layers: the pipeline's
own ``encode_prompt`` reads them (what diffusers does is what ``plain``
means). For the other syntaxes the pipeline gets placeholder embeddings and
:func:`conditioned` replaces, at each denoiser evaluation, what the UNet
receives: the prompt schedule (A1111 prompt editing, alternation) counts
evaluations the way AUTOMATIC1111's CFG denoiser counts its calls, and a
prompt and negative prompt of unequal length are evaluated as the syntax
says (separately, padded, or repeated to a common length).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

from .. import prompts
from ..errors import AigifError
from ..file import AigifFile
from ..registry import Registry

CHUNK = 75  # tokens of prompt text per 77-token window


def settings(f: AigifFile) -> dict:
    """The file's `prompts` extension fields, defaults when it has none."""
    return dict(f.extension_fields("prompts") or {"syntax": "plain", "emphasis": 0, "pad_conds": 0})


def needs_own_encoding(f: AigifFile, reg: Registry) -> bool:
    """Whether the regenerator must build the embeddings itself: any syntax
    but plain, and plain with skipped CLIP layers (the pipeline's own path for
    that does not run with the transformers this package supports)."""
    return settings(f)["syntax"] != "plain" or bool(f.fields.get("clip_skip"))


@dataclass
class Encoder:
    """One text encoder of a family with how its output is taken."""
    tokenizer: Any
    model: Any
    final_norm: bool    # SD 1.x/2.x: skipped layers pass the final layer norm; SDXL takes raw hidden states
    skip_base: int      # hidden_states index of clip_skip 0, counted from the end (1: last, 2: penultimate)
    pooled: bool        # this encoder gives the pooled vector (SDXL's second)

    @property
    def ids(self) -> tuple[int, int, int]:
        t = self.tokenizer
        pad = t.pad_token_id if t.pad_token_id is not None else t.eos_token_id
        return t.bos_token_id, t.eos_token_id, pad

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts, truncation=False, add_special_tokens=False)["input_ids"] if texts else []

    @property
    def comma(self) -> int | None:
        return self.tokenizer.get_vocab().get(",</w>")


def encoders(pipe, family: str) -> list[Encoder]:
    """The family's text encoders (SPEC.md §12.9.1)."""
    if family == "sd":
        return [Encoder(pipe.tokenizer, pipe.text_encoder, True, 1, False)]
    if family == "sdxl":
        return [Encoder(pipe.tokenizer, pipe.text_encoder, False, 2, False),
                Encoder(pipe.tokenizer_2, pipe.text_encoder_2, False, 2, True)]
    raise AigifError("E_REGEN_UNSUPPORTED", f"prompt syntaxes other than plain are not defined for the {family} family")


def _window(enc: Encoder, tokens: list[int]) -> list[int]:
    """[BOS] + text tokens + [EOS], padded to 77: with EOS up to the window end
    and the pad token after the first EOS where the tokenizer has its own."""
    bos, eos, pad = enc.ids
    return [bos] + tokens + [eos] + [pad] * (CHUNK - len(tokens))


def _run(enc: Encoder, windows: list[list[int]], clip_skip: int):
    """(hidden states (B, 77, C), pooled (B, P) or None) of a batch of windows."""
    import torch
    ids = torch.tensor(windows, dtype=torch.long, device=enc.model.device)
    out = enc.model(ids, output_hidden_states=True)
    k = enc.skip_base + clip_skip
    if enc.final_norm and k == 1:
        z = out.last_hidden_state
    else:
        z = out.hidden_states[-k]
        if enc.final_norm:
            z = getattr(enc.model, "text_model", enc.model).final_layer_norm(z)
    pooled = out.text_embeds if enc.pooled else None
    return z, pooled


@dataclass
class Cond:
    """A prompt's conditioning: one (embeds, pooled) per schedule entry, and
    the last denoiser evaluation (0-based) each entry is used for."""
    ends: list[int]
    embeds: list[Any]   # (1, T, C)
    pooled: list[Any]   # (1, P) or None

    def at(self, i: int) -> tuple[Any, Any]:
        """Evaluation ``i``: the first entry ending at or after it; past the last, the
        first entry (AUTOMATIC1111's index starts there and only a match moves it)."""
        n = next((n for n, end in enumerate(self.ends) if i <= end), 0)
        return self.embeds[n], self.pooled[n]


def _chunks(syntax: str, text: str, enc: Encoder, emphasis: str) -> list[prompts.Chunk]:
    kw = {"emphasis": emphasis} if syntax == "a1111" else {}
    pieces = prompts.fragments(syntax, text, **kw)
    return prompts.chunks(syntax, pieces, enc.tokenize, comma_token=enc.comma, chunk_len=CHUNK)


def _encode_a1111(enc: Encoder, texts: list[str], clip_skip: int, emphasis: str):
    """AUTOMATIC1111: all texts of one prompt's schedule in one batch; each
    77-token window batch is weighted per token and, in the Original mode,
    rescaled so that its mean is the mean it had before weighting (SPEC.md §12.9.2)."""
    import torch
    per_text = [_chunks("a1111", t, enc, emphasis) for t in texts]
    n = max(len(c) for c in per_text)
    zs, pooled = [], None
    for i in range(n):
        windows, mults = [], []
        for chunks in per_text:
            c = chunks[i] if i < len(chunks) else prompts.Chunk([], [])
            windows.append(_window(enc, c.tokens))
            mults.append([1.0] + list(c.weights) + [1.0] * (CHUNK + 1 - len(c.weights)))
        z, p = _run(enc, windows, clip_skip)
        if emphasis in ("Original", "No norm"):
            m = torch.tensor(mults, dtype=z.dtype, device=z.device)
            before = z.mean()
            z = z * m.reshape(m.shape + (1,)).expand(z.shape)
            if emphasis == "Original":
                z = z * (before / z.mean())
        zs.append(z)
        if i == 0:
            pooled = p
    return torch.cat(zs, dim=1), pooled


def _encode_relative(syntax: str, enc: Encoder, text: str, clip_skip: int):
    """ComfyUI and compel: a token of weight w gives e + (z - e)·w, e the
    encoding of the empty window at the same position; the windows of the
    prompt and the empty window run as one batch (SPEC.md §12.9.3)."""
    import torch
    chunks = _chunks(syntax, text, enc, "Original")
    windows = [_window(enc, c.tokens) for c in chunks] or [_window(enc, [])]
    weighted = any(w != 1.0 for c in chunks for w in c.weights)
    if weighted:
        windows.append(_window(enc, []))
    z, p = _run(enc, windows, clip_skip)
    out = []
    for i, c in enumerate(chunks or [prompts.Chunk([], [])]):
        zi = z[i:i + 1]
        if weighted:
            w = torch.ones(z.shape[1], dtype=z.dtype, device=z.device)
            if c.weights:
                w[1:1 + len(c.weights)] = torch.tensor(c.weights, dtype=z.dtype, device=z.device)
            e = z[-1:]
            changed = (w != 1.0).reshape(1, -1, 1)
            zi = torch.where(changed, (zi - e) * w.reshape(1, -1, 1) + e, zi)
        out.append(zi)
    return torch.cat(out, dim=1), None if p is None else p[0:1]


def encode_prompt(pipe, family: str, syntax: str, text: str, text_2: str, steps: int, clip_skip: int,
                  emphasis: str, negative: bool = False) -> Cond:
    """One prompt (and its second-encoder text) into its scheduled conditioning."""
    import torch
    if syntax == "plain":
        return _plain(pipe, family, text, text_2, clip_skip)
    try:
        schedule = prompts.schedule(syntax, text, steps)
        schedule_2 = prompts.schedule(syntax, text_2, steps) if text_2 else schedule
    except prompts.PromptSyntaxUnsupported as exc:
        raise AigifError("E_REGEN_UNSUPPORTED", f"{syntax} prompt: {exc.construct} cannot be applied exactly") from None
    if [e for e, _ in schedule_2] != [e for e, _ in schedule]:
        raise AigifError("E_REGEN_UNSUPPORTED", "the prompt and the second prompt have different prompt-editing schedules")
    encs = encoders(pipe, family)
    zero = (negative and family == "sdxl" and syntax == "a1111" and text == "" and text_2 == ""
            and getattr(pipe.config, "force_zeros_for_empty_prompt", False))
    parts, pooled = [], None
    with torch.no_grad():
        for k, enc in enumerate(encs):
            texts = [t for _, t in (schedule_2 if k == 1 else schedule)]
            try:
                if syntax == "a1111":
                    z, p = _encode_a1111(enc, texts, clip_skip, emphasis)
                else:
                    encoded = [_encode_relative(syntax, enc, t, clip_skip) for t in texts]
                    z = torch.cat([e[0] for e in encoded])
                    p = None if encoded[0][1] is None else torch.cat([e[1] for e in encoded])
            except prompts.PromptSyntaxUnsupported as exc:
                raise AigifError("E_REGEN_UNSUPPORTED", f"{syntax} prompt: {exc.construct} cannot be applied exactly") from None
            parts.append(z)
            if p is not None:
                pooled = p
    z = parts[0] if len(parts) == 1 else _cat_channels(parts)
    if zero:  # AUTOMATIC1111 (like diffusers) gives SDXL zeros for an empty negative prompt
        z, pooled = torch.zeros_like(z), None if pooled is None else torch.zeros_like(pooled)
    ends = [e for e, _ in schedule]
    return Cond(ends, [z[i:i + 1] for i in range(len(ends))],
                [None if pooled is None else pooled[i:i + 1] for i in range(len(ends))])


def _cat_channels(parts):
    """SDXL: the two encoders' outputs side by side per token (their tokenizers
    share one vocabulary, so one text gives both the same window count)."""
    import torch
    t = max(p.shape[1] for p in parts)
    if any(p.shape[1] != t for p in parts):
        raise AigifError("E_REGEN_UNSUPPORTED", "the two SDXL text encoders read the prompt into different window counts")
    return torch.cat(parts, dim=-1)


class _Plan:
    """What the UNet receives at each evaluation: the installed forward.

    ``parts`` are the positive prompt's composable parts with their guidance
    weights (A1111's ``AND``; one part of weight 1 otherwise): with more than
    one, or a weight other than 1, the prediction handed back for the prompt
    is ``u + Σ w_k (c_k − u)``, so the pipeline's ``u + g (· − u)`` is
    AUTOMATIC1111's combination (SPEC.md §12.9.6)."""

    def __init__(self, unet, parts: list[tuple[Cond, float]], neg: Cond, pad_conds: int, syntax: str, empty):
        self.parts, self.neg, self.pad, self.syntax, self.empty = parts, neg, pad_conds, syntax, empty
        self.inner = unet.forward
        self.calls = 0
        self.composed = len(parts) > 1 or parts[0][1] != 1.0

    def forward(self, sample, timestep, encoder_hidden_states=None, *args, added_cond_kwargs=None, **kw):
        import torch
        i, self.calls = self.calls, self.calls + 1
        conds = [cond.at(i) for cond, _ in self.parts]
        if len(conds) > 1:
            conds = _same_length(conds)
        if sample.shape[0] == 1 and not self.composed:  # no classifier-free guidance: the prompt alone
            c, cp = conds[0]
            return self.inner(sample, timestep, c, *args, added_cond_kwargs=_pooled(added_cond_kwargs, cp), **kw)
        u, up = self.neg.at(i)
        c = torch.cat([e for e, _ in conds])
        cp = None if conds[0][1] is None else torch.cat([p for _, p in conds])
        if u.shape[1] != c.shape[1]:
            u, c = self._equalise(u, c)
        x = sample[-1:]  # the latent (both halves of a CFG batch hold the same one)
        ts = timestep[-1:] if torch.is_tensor(timestep) and timestep.ndim and timestep.shape[0] > 1 else timestep
        ak = None if added_cond_kwargs is None else {k: v[-1:] for k, v in added_cond_kwargs.items()}

        def run(e, p):  # one UNet call on a batch of the latent, as the pipeline's torch.cat([latents] * n)
            n = e.shape[0]
            t = ts.repeat(n) if torch.is_tensor(ts) and ts.ndim else ts
            a = None if ak is None else {k: v.repeat(n, *([1] * (v.ndim - 1))) for k, v in ak.items()}
            return self.inner(x.repeat(n, *([1] * (x.ndim - 1))), t, e, *args, added_cond_kwargs=_pooled(a, p), **kw)[0]

        if u.shape[1] == c.shape[1]:
            out = run(torch.cat([u, c]), None if cp is None else torch.cat([up, cp]))
            uo, co = out[:1], out[1:]
        else:  # AUTOMATIC1111 without padding: the negative and the prompt(s) run as separate calls
            uo, co = run(u, up), run(c, cp)
        if self.composed:
            acc = uo
            for k, (_, w) in enumerate(self.parts):
                acc = acc + (co[k:k + 1] - uo) * w
            co = acc
        return (co,) if sample.shape[0] == 1 else (torch.cat([uo, co]),)

    def _equalise(self, u, c):
        import torch
        if self.syntax == "comfyui":  # ComfyUI repeats each to the least common multiple of the lengths
            n = math.lcm(u.shape[1], c.shape[1])
            return u.repeat(1, n // u.shape[1], 1), c.repeat(1, n // c.shape[1], 1)
        if self.syntax not in ("a1111", "plain"):
            raise AigifError("E_REGEN_UNSUPPORTED", f"{self.syntax}: a prompt and negative prompt of different lengths")
        if self.pad == 1:  # 'Pad conds': the shorter gets copies of the empty prompt's window
            r = (c.shape[1] - u.shape[1]) // self.empty.shape[1]
            if r > 0:
                u = torch.cat([u, self.empty.repeat(1, r, 1)], dim=1)
            elif r < 0:
                c = torch.cat([c, self.empty.repeat(c.shape[0], -r, 1)], dim=1)
        elif self.pad == 2:  # 'Pad conds v0': the negative repeats its last vector, or is cut
            if u.shape[1] < c.shape[1]:
                u = torch.cat([u, u[:, -1:].repeat(1, c.shape[1] - u.shape[1], 1)], dim=1)
            else:
                u = u[:, :c.shape[1]]
        return u, c


def _same_length(conds):
    """A1111 stacks an AND prompt's parts by repeating each shorter part's last token vector."""
    import torch
    n = max(e.shape[1] for e, _ in conds)
    return [(e if e.shape[1] == n else torch.cat([e, e[:, -1:].repeat(1, n - e.shape[1], 1)], dim=1), p) for e, p in conds]


def _pooled(added_cond_kwargs, pooled):
    if added_cond_kwargs is None or pooled is None:
        return added_cond_kwargs
    return {**added_cond_kwargs, "text_embeds": pooled.to(added_cond_kwargs["text_embeds"].dtype)}


@contextlib.contextmanager
def conditioned(pipe, f: AigifFile, reg: Registry, kw: dict):
    """Replace the pipeline's prompt arguments in ``kw`` with placeholders and
    route the file's own conditioning to the UNet for the duration."""
    import torch
    s = settings(f)
    family = reg.family_of(f.model).key
    syntax = s["syntax"]
    entry = reg.table("prompt_syntaxes").by_key[syntax]
    if not entry["regenerates"]:
        raise AigifError("E_REGEN_UNSUPPORTED", f"prompt syntax {syntax}: no regenerator can apply it ({entry['description']})")
    # A1111 schedules over its sampler's denoiser calls: steps × 2 for second-order samplers (Appendix G.1.7)
    steps = int(f.fields["steps"]) * (2 if getattr(pipe.scheduler, "order", 1) == 2 else 1)
    clip_skip = int(f.fields.get("clip_skip") or 0)
    emphasis = prompts.a1111.EMPHASIS_MODES[s["emphasis"]]
    p2 = str(f.fields.get("prompt_2") or "")
    n2 = str(f.fields.get("negative_prompt_2") or "")
    for what, text in (("prompt", f.prompt), ("negative prompt", f.negative_prompt), ("prompt_2", p2), ("negative_prompt_2", n2)):
        if syntax == "a1111" and prompts.a1111.extra_networks(text)[1]:
            kind, args = prompts.a1111.extra_networks(text)[1][0]
            raise AigifError("E_REGEN_UNSUPPORTED", f"the {what} names the extra network <{kind}:{':'.join(args)}>, "
                             "which this regenerator does not apply")
    parts = prompts.subprompts(syntax, f.prompt)
    if len(parts) > 1 and p2:
        raise AigifError("E_REGEN_UNSUPPORTED", "a1111 prompt: AND with a second prompt (prompt_2)")
    pos = [(encode_prompt(pipe, family, syntax, text, p2, steps, clip_skip, emphasis), w) for text, w in parts]
    neg = encode_prompt(pipe, family, syntax, f.negative_prompt, n2, steps, clip_skip, emphasis, negative=True)
    empty = encode_prompt(pipe, family, "a1111", "", "", steps, clip_skip, emphasis).embeds[0] if syntax == "a1111" else None
    for k in ("prompt", "negative_prompt", "prompt_2", "negative_prompt_2", "clip_skip"):
        kw.pop(k, None)
    e0, p0 = pos[0][0].at(0)
    placeholder = torch.zeros((1, 77, e0.shape[-1]), dtype=e0.dtype, device=e0.device)
    kw["prompt_embeds"], kw["negative_prompt_embeds"] = placeholder, placeholder
    if p0 is not None:
        kw["pooled_prompt_embeds"] = kw["negative_pooled_prompt_embeds"] = torch.zeros_like(p0)
    plan = _Plan(pipe.unet, pos, neg, s["pad_conds"], syntax, empty)
    pipe.unet.forward = plan.forward
    try:
        yield plan
    finally:
        del pipe.unet.forward  # the instance attribute: the class's forward again


def _plain(pipe, family: str, text: str, text_2: str, clip_skip: int) -> Cond:
    """plain with clip skip, as diffusers' encode_prompt reads a string it is
    given: the first 75 tokens, one window, weight 1, no schedule (an empty
    negative prompt is encoded, not zeroed: the regenerator passes it as "")."""
    import torch
    parts, pooled = [], None
    with torch.no_grad():
        for k, enc in enumerate(encoders(pipe, family)):
            t = text_2 if (k == 1 and text_2) else text
            ids = enc.tokenize([t])[0][:CHUNK]
            z, p = _run(enc, [_window(enc, ids)], clip_skip)
            parts.append(z)
            pooled = p if p is not None else pooled
    z = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
    return Cond([0], [z], [pooled])
