"""Prompt syntaxes as the generating tools mean them: the pure-Python parsing layer.

A prompt string means different things to different tools: AUTOMATIC1111 reads
``(masterpiece:1.2)`` as a weight and ``[cat:dog:0.4]`` as a switch during
sampling, ComfyUI reads the parentheses but not the brackets, diffusers feeds
the string to the tokenizer as it is. A file names the syntax its prompts were
written in (the registry's ``prompt_syntaxes``); this package turns a prompt of
that syntax into what the text encoder is given:

1. ``subprompts``: the weighted parts of a composable prompt (A1111's ``AND``);
2. ``schedule``: the text in force at each sampling step;
3. ``fragments``: the weighted pieces of one schedule entry's text;
4. ``chunks``: the token ids and per-token weights, cut into encoder-sized chunks.

Each syntax is a module with these functions (``SYNTAXES`` maps its key to it);
the functions here only dispatch. No torch: the lead's regenerator builds the
embeddings from the chunks.
"""
from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from . import a1111, comfyui, compel, novelai, plain
from .common import Chunk, PromptSyntaxUnsupported, Tokenize

__all__ = ["SYNTAXES", "Chunk", "PromptSyntaxUnsupported", "Tokenize", "chunks", "fragments", "schedule", "subprompts"]

SYNTAXES: dict[str, ModuleType] = {
    "plain": plain,
    "a1111": a1111,
    "comfyui": comfyui,
    "compel": compel,
    "novelai": novelai,
}


def _module(syntax: str) -> ModuleType:
    try:
        return SYNTAXES[syntax]
    except KeyError:
        raise PromptSyntaxUnsupported(f"prompt syntax {syntax!r}") from None


def subprompts(syntax: str, text: str) -> list[tuple[str, float]]:
    """The parts of a composable prompt and their guidance weights; one part ``(text, 1.0)`` where the syntax has none."""
    return list(_module(syntax).subprompts(text))


def schedule(syntax: str, text: str, steps: int, **options: object) -> list[tuple[int, str]]:
    """``[(end_at_step, text), ...]``: entry i is in force for the steps after entry i-1's end up to its own (see SPEC)."""
    return list(_module(syntax).schedule(text, steps, **options))


def fragments(syntax: str, text: str, **options: object) -> list[tuple[str, float]]:
    """The weighted pieces of one schedule entry's text (A1111's BREAK is ``("BREAK", -1.0)``)."""
    return list(_module(syntax).fragments(text, **options))


def chunks(
    syntax: str,
    pieces: list[tuple[str, float]],
    tokenize: Callable[[list[str]], list[list[int]]],
    *,
    comma_token: int | None,
    chunk_len: int = 75,
) -> list[Chunk]:
    """The token ids and weights of ``pieces`` cut into chunks of at most ``chunk_len`` tokens, without bos/eos."""
    return list(_module(syntax).chunks(pieces, tokenize, comma_token=comma_token, chunk_len=chunk_len))
