"""aigif prompt --syntax SYNTAX [--steps N] TEXT: what the regenerator reads in a prompt.

Prints JSON: ``schedule`` (``[[until_step, text], ...]``: the text used up to
and including that denoiser evaluation, as AUTOMATIC1111's prompt schedule)
and, per schedule entry, ``fragments`` (``[[piece, weight], ...]``; A1111's
BREAK is ``["BREAK", -1]``). With ``--model`` also the token ``chunks`` of the
model's first tokenizer; with ``--embeddings`` the conditioning tensors the
pipeline would receive, one per schedule entry, to a safetensors file.
"""
from __future__ import annotations

import json

from ..errors import AigifError
from ..prompts.a1111 import EMPHASIS_KEYS
from .common import add_force, check_output, did_you_mean


def add_arguments(p):
    p.add_argument("text", metavar="TEXT", help="the prompt")
    p.add_argument("--syntax", required=True, help="a prompt syntax of the registry (plain, a1111, comfyui, compel, novelai)")
    p.add_argument("--steps", type=int, default=20, help="sampling steps the schedule is computed for")
    p.add_argument("--emphasis", default="original", choices=EMPHASIS_KEYS,
                   help="a1111 only: AUTOMATIC1111's Emphasis setting")
    p.add_argument("--model", help="registry model key: also print the token chunks of its tokenizer")
    p.add_argument("--clip-skip", type=int, default=0, help="text-encoder layers skipped (the file's clip_skip field)")
    p.add_argument("--embeddings", metavar="OUT.safetensors", help="with --model: write the conditioning tensors")
    p.add_argument("--dtype", default="float32", help="registry dtype key the model runs in")
    p.add_argument("--negative", action="store_true", help="read TEXT as a negative prompt (SDXL: an empty one is zeros)")
    add_force(p)
    from .regen_args import add_regen_options
    add_regen_options(p)


def run(args) -> int:
    from .. import prompts
    from ..registry import load
    reg = load()
    table = reg.table("prompt_syntaxes")
    if args.syntax not in table.by_key:
        raise AigifError("E_USAGE", f"--syntax: no syntax {args.syntax!r}{did_you_mean(args.syntax, table.by_key)}; "
                         f"the registry has {', '.join(table.by_key)}")
    if args.steps < 1:
        raise AigifError("E_USAGE", "--steps must be at least 1")
    if args.embeddings and not args.model:
        raise AigifError("E_USAGE", "--embeddings needs --model")
    kw = {"emphasis": prompts.a1111.EMPHASIS_MODES[EMPHASIS_KEYS.index(args.emphasis)]} if args.syntax == "a1111" else {}
    try:
        schedule = prompts.schedule(args.syntax, args.text, args.steps)
        out: dict = {"schedule": [[end, text] for end, text in schedule],
                     "fragments": [[[piece, w] for piece, w in prompts.fragments(args.syntax, text, **kw)] for _, text in schedule]}
    except prompts.PromptSyntaxUnsupported as exc:
        raise AigifError("E_REGEN_UNSUPPORTED", f"{args.syntax} prompt: {exc.construct} cannot be applied exactly") from None
    if args.model:
        if args.embeddings:
            check_output(args.embeddings, [], args.force, ".safetensors")
        out.update(_with_model(args, reg, schedule, kw))
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _with_model(args, reg, schedule, kw: dict) -> dict:
    from .. import prompts
    from ..regen import conditioning
    from .regen_args import check_device, regenerator
    if args.model not in reg.table("models").by_key:
        raise AigifError("E_USAGE", f"--model: no model {args.model!r}{did_you_mean(args.model, reg.table('models').by_key)}")
    check_device(args.device)
    regen = regenerator(args)
    from ..file import AigifFile
    f = AigifFile(model=args.model, height=0, width=0, seed=0, dtype=args.dtype)
    pipe, _ = regen.pipeline(f)
    family = reg.family_of(args.model).key
    enc = conditioning.encoders(pipe, family)[0]
    chunks = []
    for _, text in schedule:
        pieces = prompts.fragments(args.syntax, text, **kw)
        chunks.append([{"tokens": c.tokens, "weights": c.weights}
                       for c in prompts.chunks(args.syntax, pieces, enc.tokenize, comma_token=enc.comma)])
    result: dict = {"chunks": chunks}
    if args.embeddings:
        entry = reg.table("prompt_syntaxes").by_key[args.syntax]
        if not entry["regenerates"]:
            raise AigifError("E_REGEN_UNSUPPORTED", f"prompt syntax {args.syntax}: no regenerator applies it ({entry['description']})")
        from safetensors.torch import save

        from ..fsutil import atomic_write
        cond = conditioning.encode_prompt(pipe, family, args.syntax, args.text, "", args.steps, args.clip_skip,
                                          kw.get("emphasis", "Original"), negative=args.negative)
        tensors = {}
        for n, end in enumerate(cond.ends):
            tensors[f"entry{n}.until_step{end}.prompt_embeds"] = cond.embeds[n].contiguous()
            if cond.pooled[n] is not None:
                tensors[f"entry{n}.until_step{end}.pooled_prompt_embeds"] = cond.pooled[n].contiguous()
        atomic_write(args.embeddings, save(tensors))
        result["embeddings"] = {"file": args.embeddings, "tensors": {k: list(v.shape) for k, v in tensors.items()}}
    return result
