"""Prompt syntaxes (reference/aigif/prompts): the tools' own meaning of a prompt string.

Three kinds of test: worked examples that state the rules; agreement with the
tools' own functions on a corpus (tests/data/prompts: the outputs were made by
running AUTOMATIC1111's, ComfyUI's and compel's code, see SOURCES.md); and
properties that hold for any string (no parser raises, weights are finite,
chunk boundaries follow the rules).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigif import prompts
from aigif.prompts import Chunk, PromptSyntaxUnsupported, a1111, comfyui, compel, novelai, plain
from aigif.registry import load

DATA = Path(__file__).parent / "data" / "prompts"


def _lines(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def char_tokens(texts: list[str]) -> list[list[int]]:
    """A stand-in tokenizer: one token per non-space character (a comma is ord(','))."""
    return [[ord(c) for c in t if not c.isspace()] for t in texts]


COMMA = ord(",")


# ---------------------------------------------------------------------------
# The dispatch


def test_the_syntaxes_are_the_registry_entries():
    table = load().table("prompt_syntaxes").by_key
    assert set(prompts.SYNTAXES) == set(table) == {"plain", "a1111", "comfyui", "compel", "novelai"}
    for key, module in prompts.SYNTAXES.items():
        assert module.__name__ == table[key]["module"]
        assert module.__doc__ and "ollow" in module.__doc__  # says which version it follows
        for name in ("subprompts", "schedule", "fragments", "chunks"):
            assert callable(getattr(module, name))


def test_an_unknown_syntax_is_unsupported():
    with pytest.raises(PromptSyntaxUnsupported) as e:
        prompts.schedule("midjourney", "a cat --ar 16:9", 20)
    assert "midjourney" in e.value.construct


def test_the_functions_dispatch_on_the_key():
    assert prompts.schedule("a1111", "a [cat:dog:0.5]", 10) == [(5, "a cat"), (10, "a dog")]
    assert prompts.schedule("comfyui", "a [cat:dog:0.5]", 10) == [(10, "a [cat:dog:0.5]")]
    assert prompts.schedule("compel", "a cat", 20, hires_steps=8) == [(8, "a cat")]
    assert prompts.fragments("a1111", "(x)", emphasis="None") == [("(x)", 1.0)]
    assert prompts.subprompts("a1111", "a AND b:2") == [("a", 1.0), (" b", 2.0)]
    assert prompts.subprompts("comfyui", "a AND b:2") == [("a AND b:2", 1.0)]
    assert prompts.chunks("plain", [("abc", 1.0)], char_tokens, comma_token=COMMA) == [Chunk([97, 98, 99], [1.0] * 3)]


# ---------------------------------------------------------------------------
# A1111: worked examples


def test_a1111_weight_arithmetic_order():
    # the inner (house:1.3) closes first, then one ')' (x1.1); the third '(' never
    # closes and applies at the end (x1.1): 1.3 * 1.1 * 1.1 in binary64
    assert a1111.fragments("(((house:1.3))") == [("house", 1.5730000000000004)]
    assert a1111.fragments("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).") == [
        ("a ", 1.0),
        ("house", 1.5730000000000004),
        (" ", 1.1),
        ("on", 1.0),
        (" a ", 1.1),
        ("hill", 0.55),
        (", sun, ", 1.1),
        ("sky", 1.4641000000000006),
        (".", 1.1),
    ]


def test_a1111_square_brackets_multiply_by_the_inverse():
    assert a1111.fragments("[x]") == [("x", 1 / 1.1)]
    assert a1111.fragments("[[[[[x]]]]]") == [("x", 0.620921323059155)]  # (1/1.1)**5 by multiplication
    assert a1111.fragments("([x])") == [("x", 1.0)]  # 1 * (1/1.1) * 1.1
    # dividing would differ in the last bit: the multiplier is the rule
    assert 1.0 / 1.1 / 1.1 / 1.1 / 1.1 / 1.1 == 0.6209213230591549
    assert a1111.fragments("[(a:1.3)]") == [("a", 1.1818181818181819)]  # 1.3 * (1/1.1), not 1.3/1.1


def test_a1111_escapes_unbalanced_and_merging():
    assert a1111.fragments(r"\(literal\]") == [("(literal]", 1.0)]
    assert a1111.fragments("(unbalanced") == [("unbalanced", 1.1)]
    assert a1111.fragments("(unnecessary)(parens)") == [("unnecessaryparens", 1.1)]
    assert a1111.fragments("a) b] c:") == [("a) b] c:", 1.0)]
    assert a1111.fragments(r"\x") == [("x", 1.0)]  # a lone backslash is dropped
    assert a1111.fragments("") == [("", 1.0)]
    assert a1111.fragments("(a : 2 )") == [("a ", 2.0)]  # the space before the colon is text


def test_a1111_break():
    assert a1111.fragments("a BREAK b") == [("a", 1.0), ("BREAK", -1.0), ("b", 1.0)]
    assert a1111.fragments("aBREAK b") == [("aBREAK b", 1.0)]  # only the word
    # inside brackets the marker is multiplied too, and then it is no longer a BREAK
    assert a1111.fragments("(x BREAK)") == [("x", 1.1), ("BREAK", -1.1), ("", 1.1)]


def test_a1111_emphasis_none_keeps_the_brackets():
    assert a1111.fragments("(a:1.2) BREAK [b]", emphasis="None") == [("(a:1.2) BREAK [b]", 1.0)]
    assert a1111.fragments("(a:1.2)", emphasis="No norm") == [("a", 1.2)]
    with pytest.raises(PromptSyntaxUnsupported):
        a1111.fragments("a", emphasis="Loud")


def test_a1111_weight_literal_that_float_rejects_is_text():
    # A1111 stops with a ValueError on these; here they stay text
    assert a1111.fragments("(a:1.2.3) b") == [("a:1.2.3) b", 1.1)]


def test_a1111_prompt_editing():
    fantasy = (
        "fantasy landscape with a [mountain:lake:0.25] and [an oak:a christmas tree:0.75]"
        "[ in foreground::0.6][ in background:0.25] [shoddy:masterful:0.5]"
    )
    assert a1111.schedule(fantasy, 100) == [
        (25, "fantasy landscape with a mountain and an oak in foreground shoddy"),
        (50, "fantasy landscape with a lake and an oak in foreground in background shoddy"),
        (60, "fantasy landscape with a lake and an oak in foreground in background masterful"),
        (75, "fantasy landscape with a lake and an oak in background masterful"),
        (100, "fantasy landscape with a lake and a christmas tree in background masterful"),
    ]
    assert a1111.schedule("a [b:3]", 10) == [(3, "a "), (10, "a b")]
    assert a1111.schedule("a[b:[c:d:2]:1]e", 10) == [(1, "abe"), (2, "ace"), (10, "ade")]
    assert a1111.schedule("a [b:.5] c", 10) == [(5, "a  c"), (10, "a b c")]
    assert a1111.schedule("[a:b:1.5]", 10) == [(10, "a")]  # a fraction over 1 is past the end
    assert a1111.schedule("[a:b:0]", 10) == [(10, "b")]


def test_a1111_alternation_and_fallbacks():
    assert a1111.schedule("[fe|||]male", 6) == [(1, "female"), (2, "male"), (3, "male"), (4, "male"), (5, "female"), (6, "male")]
    # text outside the grammar (a '|' outside [...], a trailing backslash) is the whole prompt
    assert a1111.schedule("a|b [c:2]", 10) == [(10, "a|b [c:2]")]
    assert a1111.schedule("[c:2] \\", 10) == [(10, "[c:2] \\")]
    assert a1111.schedule("a [unbalanced", 10) == [(10, "a [unbalanced")]


def test_a1111_hires_and_old_scheduling():
    # hires pass of 10 after 20 base steps: integers count on, fractions from 1.0
    assert a1111.schedule("a [b:1.5] c", 10, hires_steps=10) == [(5, "a  c"), (10, "a b c")]
    assert a1111.schedule("a [b:25] c", 20, hires_steps=10) == [(5, "a  c"), (10, "a b c")]
    assert a1111.schedule("a [b:.5] c", 10, hires_steps=10) == [(10, "a b c")]
    # the old option: anything below 1 is a fraction, with or without a point
    assert a1111.schedule("[a:b:5e-1]", 10, old_scheduling=True) == [(5, "a"), (10, "b")]
    assert a1111.schedule("[a:b:5e-1]", 10) == [(10, "b")]


def test_a1111_huge_step_number_is_clamped():
    assert a1111.schedule("[a:b:1e400]", 10) == [(10, "a")]  # A1111: OverflowError


def test_a1111_subprompts_and_extra_networks():
    assert a1111.subprompts("a cat:1.2 AND a dog AND (x:1.1) :0.5 ") == [("a cat", 1.2), (" a dog", 1.0), (" (x:1.1)", 0.5)]
    assert a1111.subprompts("ANDROID") == [("ANDROID", 1.0)]
    text, nets = a1111.extra_networks("a cat <lora:fluffy:0.8>, <hypernet:h:1:2> sky")
    assert text == "a cat ,  sky"
    assert nets == [("lora", ["fluffy", "0.8"]), ("hypernet", ["h", "1", "2"])]


# ---------------------------------------------------------------------------
# A1111: chunks


def test_a1111_chunks_basic():
    assert a1111.chunks([("", 1.0)], char_tokens, comma_token=COMMA) == [Chunk()]
    assert a1111.chunks([("ab", 1.0), ("c", 2.0)], char_tokens, comma_token=COMMA) == [Chunk([97, 98, 99], [1.0, 1.0, 2.0])]
    # BREAK ends a chunk, even at the start
    assert a1111.chunks([("BREAK", -1.0), ("a", 1.0)], char_tokens, comma_token=COMMA) == [Chunk(), Chunk([97], [1.0])]
    # ... but a multiplied marker is text
    assert a1111.chunks([("BREAK", -1.1)], char_tokens, comma_token=COMMA)[0].tokens == [ord(c) for c in "BREAK"]


def test_a1111_comma_backtrack():
    # 70 'a', a comma, then 10 'b': the chunk fills at 75 with the comma 4 from the end,
    # so the 4 'b' after it move on with the rest
    text = "a" * 70 + "," + "b" * 10
    out = a1111.chunks([(text, 1.0)], char_tokens, comma_token=COMMA)
    assert [len(c.tokens) for c in out] == [71, 10]
    assert out[0].tokens[-1] == COMMA
    # the comma too far back (more than 20): a hard cut at 75
    text = "a" * 50 + "," + "b" * 40
    assert [len(c.tokens) for c in a1111.chunks([(text, 1.0)], char_tokens, comma_token=COMMA)] == [75, 16]
    # switched off
    text = "a" * 70 + "," + "b" * 10
    assert [len(c.tokens) for c in a1111.chunks([(text, 1.0)], char_tokens, comma_token=COMMA, backtrack=0)] == [75, 6]
    # a comma that lands at the very end of a full chunk: no move
    text = "a" * 74 + "," + "b"
    assert [len(c.tokens) for c in a1111.chunks([(text, 1.0)], char_tokens, comma_token=COMMA)] == [75, 1]


# ---------------------------------------------------------------------------
# A1111: agreement with A1111's own functions


def _a1111_result(line: dict) -> dict:
    options = {k: line[k] for k in ("hires_steps", "old_scheduling") if k in line}
    entries = a1111.schedule(line["prompt"], line["steps"], **options)
    sched = [[end, text] for end, text in entries]
    attention = []
    for (_, text), expected in zip(entries, line.get("attention", [])):
        # where A1111 raised, only "does not raise" is asked of us
        attention.append(expected if isinstance(expected, dict) else [[t, w] for t, w in a1111.fragments(text)])
    return {"schedule": sched, "attention": attention}


def test_a1111_agrees_with_a1111_on_the_corpus():
    """Every line's schedule and the attention of each entry equal A1111's (see SOURCES.md).

    A1111 parses the schedule with lark's Earley parser; for some prompts that
    the grammar can read two ways (a construct next to stray brackets or
    colons), which reading wins depends on Python's per-process string-hash
    seed, so A1111 itself is not a function of the prompt there. Those lines
    list the other outcomes seen under 24 seeds (``hash_dependent``); AIGIF's
    reading (a construct wherever one closes, SPEC G.1.3) must be among them
    for most, and is not required for the rest.
    """
    lines = _lines("a1111_expected.jsonl")
    prompts_seen = {line["prompt"] for line in lines}
    assert len(prompts_seen) >= 1000
    agree, disagree, hash_dependent, hash_seen, a1111_failed = 0, [], 0, 0, 0
    for line in lines:
        if "error" in line:  # A1111 raised (a step number int() cannot hold): ours must not
            a1111_failed += 1
            _a1111_result(line)
            continue
        got = _a1111_result(line)
        want = {"schedule": line["schedule"], "attention": line["attention"]}
        if "hash_dependent" in line:
            hash_dependent += 1
            hash_seen += got == want or got in line["hash_dependent"]
        elif got == want:
            agree += 1
        else:
            disagree.append(line["prompt"])
    assert disagree == []
    assert agree > 0.98 * len(lines)
    assert hash_dependent < 0.01 * len(lines) and a1111_failed < 10
    assert hash_seen >= 0.85 * hash_dependent


def test_the_a1111_corpus_covers_the_constructs():
    texts = {line["prompt"] for line in _lines("a1111_expected.jsonl")}

    def count(pred) -> int:
        return sum(1 for t in texts if pred(t))

    assert count(lambda t: "(" in t and ":" in t) > 300  # explicit weights
    assert count(lambda t: "[" in t and "|" in t) > 100  # alternation
    assert count(lambda t: "BREAK" in t) > 100
    assert count(lambda t: "\\" in t) > 100  # escapes
    assert count(lambda t: t.count("[") >= 1 and t.count(":") >= 2) > 300  # editing


def test_chunks_agree_with_the_tools_on_the_corpus():
    """Chunk lengths as A1111's tokenize_line and ComfyUI's tokenize_with_weights cut the corpus prompts.

    Both tools' loops were run with the stand-in tokenizer (one token per
    non-space character, so that commas and lengths vary as in real prompts);
    each prompt also three times over, joined by ", ", to cross chunk ends.
    """
    lines = _lines("chunks_expected.jsonl")
    assert len(lines) >= 2000
    crossing = 0
    for line in lines:
        text = ", ".join([line["prompt"]] * line["repeat"])
        a = a1111.chunks(a1111.fragments(text), char_tokens, comma_token=COMMA)
        assert [len(c.tokens) for c in a] == line["a1111"], text
        c = comfyui.chunks(comfyui.fragments(text), char_tokens, comma_token=None)
        assert [len(x.tokens) for x in c] == line["comfyui"], text
        crossing += len(line["a1111"]) > 1
    assert crossing > 1000


# ---------------------------------------------------------------------------
# ComfyUI


def test_comfyui_examples():
    assert comfyui.fragments("a (b) [c]") == [("a ", 1.0), ("b", 1.1), (" [c]", 1.0)]
    assert comfyui.fragments("((x:1.5))") == [("x", 1.5)]  # the number replaces, it does not multiply
    assert comfyui.fragments("((x):1.5)") == [("x", 1.5 * 1.1)]
    assert comfyui.fragments(r"\(x\) (y:z)") == [("(x) ", 1.0), ("y:z", 1.1)]
    assert comfyui.fragments("(:2)") == [(":2", 1.1)]  # a colon first is not a weight
    assert comfyui.fragments("a) (b) c") == [("a) (b) c", 1.0)]  # depth below zero: no group opens
    assert comfyui.fragments("x BREAK y") == [("x BREAK y", 1.0)]
    assert comfyui.fragments("") == []


def test_comfyui_chunks_keep_short_words_whole():
    words = [("abcd", 1.0)] * 18 + [("efgh", 1.2)]  # 19 groups of 4: 18 fill 72, the 19th moves on
    out = comfyui.chunks(words, char_tokens, comma_token=COMMA)
    assert [len(c.tokens) for c in out] == [72, 4] and out[1].weights == [1.2] * 4
    long = [("a" * 72, 1.0), ("b" * 10, 1.0)]  # a group of 8 or more is split to fill the chunk
    assert [len(c.tokens) for c in comfyui.chunks(long, char_tokens, comma_token=COMMA)] == [75, 7]
    assert comfyui.chunks([], char_tokens, comma_token=COMMA) == [Chunk()]


def test_comfyui_embeddings_are_refused():
    with pytest.raises(PromptSyntaxUnsupported) as e:
        comfyui.chunks(comfyui.fragments("a photo embedding:easynegative, b"), char_tokens, comma_token=COMMA)
    assert e.value.construct == "embedding:easynegative,"


def test_comfyui_agrees_with_comfyui_on_the_corpus():
    lines = _lines("comfyui_expected.jsonl")
    assert len(lines) >= 1000
    for line in lines:
        got = comfyui.fragments(line["prompt"])
        want = line["token_weights"]
        assert [t for t, _ in got] == [t for t, _ in want], line["prompt"]
        assert all(a == b or (math.isnan(a) and math.isnan(b)) for (_, a), (_, b) in zip(got, want)), line["prompt"]
        assert [comfyui.words(t) for t, _ in got] == line["words"], line["prompt"]


# ---------------------------------------------------------------------------
# compel


def test_compel_examples():
    assert compel.fragments("a cat+ sitting") == [("a", 1.0), ("cat", 1.1), ("sitting", 1.0)]
    assert compel.fragments("dog++ (red cat)1.3") == [("dog", 1.1**2), ("red cat", 1.3)]
    assert compel.fragments("(a (b)+)1.5") == [("a", 1.5), ("b", 1.5 * 1.1)]
    assert compel.fragments("a  b,c") == [("a b, c", 1.0)]
    assert compel.fragments("(a, b)+") == [("a , b", 1.1)]
    assert compel.fragments("semi-realistic photo") == [("semi-realistic photo", 1.0)]
    assert compel.fragments("   ") == [("", 1.0)]


@pytest.mark.parametrize(
    "prompt, construct",
    [
        ("a cat-", "downweighting 'cat' to 0.9"),
        ("(a cat)0.5", "downweighting 'a' to 0.5"),
        ("(cat, dog).blend(1, 1)", ".blend"),
        ("a cat.swap(dog)", ".swap"),
        ('"a cat"+', '"'),
        ("a \\(b\\)", "\\"),
        ("()", "a prompt whose groups hold no text"),
    ],
)
def test_compel_unsupported(prompt, construct):
    with pytest.raises(PromptSyntaxUnsupported) as e:
        compel.fragments(prompt)
    assert e.value.construct == construct


def test_compel_chunks_refuse_long_prompts():
    assert compel.chunks([("a" * 75, 1.1)], char_tokens, comma_token=COMMA) == [Chunk([97] * 75, [1.1] * 75)]
    with pytest.raises(PromptSyntaxUnsupported):
        compel.chunks([("a" * 76, 1.0)], char_tokens, comma_token=COMMA)


def test_compel_agrees_with_compel_on_the_corpus():
    """Where we answer, it is compel's answer; where we refuse, compel did something a multiplier cannot, or
    the prompt has a construct we refuse outright."""
    lines = _lines("compel_expected.jsonl")
    assert len(lines) >= 1000
    exact = refused = 0
    for line in lines:
        try:
            got = [[t, w] for t, w in compel.fragments(line["prompt"])]
        except PromptSyntaxUnsupported:
            refused += 1
            want = line.get("fragments")
            assert want is None or any(w < 1 for _, w in want) or any(c in line["prompt"] for c in compel.REFUSED), line["prompt"]
            continue
        assert got == line.get("fragments"), line["prompt"]
        exact += 1
    assert exact > 2000


# ---------------------------------------------------------------------------
# NovelAI and plain


def test_novelai_examples():
    assert novelai.fragments("{cat}") == [("cat", 1.05)]
    assert novelai.fragments("{{cat}} [dog]") == [("cat", 1.05 * 1.05), (" ", 1.0), ("dog", 1 / 1.05)]
    assert novelai.fragments("{open") == [("open", 1.05)]
    assert novelai.fragments("a} (b)") == [("a} (b)", 1.0)]
    assert novelai.schedule("[a:b:0.5]", 10) == [(10, "[a:b:0.5]")]


def test_plain_is_the_string_truncated():
    assert plain.fragments("(a:1.2) [b] BREAK") == [("(a:1.2) [b] BREAK", 1.0)]
    assert plain.schedule("[a:b:2]", 10) == [(10, "[a:b:2]")]
    assert plain.chunks([("x" * 80, 1.0)], char_tokens, comma_token=COMMA) == [Chunk([120] * 75, [1.0] * 75)]


# ---------------------------------------------------------------------------
# Properties

ANY_TEXT = st.text(max_size=60)
# the syntaxes' special characters, so that constructs are common
SYNTAX_TEXT = st.lists(st.sampled_from(list("ab ,.:|\\()[]{}+-0123456789\n") + ["BREAK", "AND", "1.5", "embedding:"]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, SYNTAX_TEXT), st.integers(1, 40))
def test_no_parser_raises(text, steps):
    for name in ("plain", "a1111", "comfyui", "novelai"):
        sched = prompts.schedule(name, text, steps)
        ends = [end for end, _ in sched]
        assert ends == sorted(set(ends)) and ends[-1] == steps and ends[0] >= 1
        for _, entry in sched:
            for _, weight in prompts.fragments(name, entry):
                assert not math.isnan(weight) or name == "comfyui"
    try:
        compel.fragments(text)
    except PromptSyntaxUnsupported as e:
        assert e.construct


@settings(max_examples=300, deadline=None)
@given(SYNTAX_TEXT)
def test_weights_are_finite(text):
    # no letters: ComfyUI reads "inf" and "nan" as the weights they name
    for name in ("a1111", "comfyui", "novelai"):
        assert all(math.isfinite(w) for _, w in prompts.fragments(name, text))
    try:
        assert all(math.isfinite(w) and w >= 1 for _, w in compel.fragments(text))
    except PromptSyntaxUnsupported:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="[]|\\"), max_size=40), st.integers(1, 40))
def test_a1111_text_without_editing_is_its_own_schedule(text, steps):
    assert a1111.schedule(text, steps) == [(steps, text)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab ,", max_size=10), st.text(alphabet="cd ,", max_size=10), st.integers(1, 40), st.integers(0, 50))
def test_a1111_an_edit_switches_after_its_step(before, after, steps, when):
    sched = a1111.schedule(f"x [{before}:{after}:{when}] y", steps)
    switch = min(steps, when)
    for step in range(1, steps + 1):  # the entry in force at a step is the first that ends at or after it
        text = next(t for end, t in sched if step <= end)
        assert text == f"x {before if step <= switch else after} y"


def test_deep_nesting_does_not_raise():
    deep = "[" * 3000 + "a:1" + "]" * 3000
    assert a1111.schedule(deep, 10) == [(10, deep)]
    assert comfyui.fragments("(" * 3000 + "a" + ")" * 3000) == [("(" * 3000 + "a" + ")" * 3000, 1.0)]
    with pytest.raises(PromptSyntaxUnsupported):
        compel.fragments("(" * 3000 + "a" + ")" * 3000)


PIECE = st.one_of(
    st.tuples(st.text(alphabet="ab,", min_size=0, max_size=30), st.sampled_from([1.0, 1.1, 0.9, 1.5])),
    st.just(("BREAK", -1.0)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECE, max_size=12), st.sampled_from([5, 10, 75]), st.sampled_from([0, 3, 20]))
def test_a1111_chunk_rules(pieces, chunk_len, backtrack):
    out = a1111.chunks(pieces, char_tokens, comma_token=COMMA, chunk_len=chunk_len, backtrack=backtrack)
    assert out, "at least one chunk"
    for chunk in out:
        assert len(chunk.tokens) == len(chunk.weights) <= chunk_len
    # nothing lost, nothing reordered, each token keeps its piece's weight
    flat = [(t, w) for text, w in pieces if (text, w) != a1111.BREAK for t in char_tokens([text])[0]]
    assert [(t, w) for c in out for t, w in zip(c.tokens, c.weights)] == flat
    # chunk boundaries: each BREAK makes one; otherwise a chunk ends full, or after a
    # comma that the back-track rule moved the next tokens away from
    breaks = sum(1 for p in pieces if p == a1111.BREAK)
    short = [c for c in out[:-1] if len(c.tokens) < chunk_len]
    backtracked = [c for c in short if c.tokens and c.tokens[-1] == COMMA and len(c.tokens) > chunk_len - backtrack]
    assert len(short) - len(backtracked) <= breaks
    assert len(out) >= breaks  # a BREAK at the very end leaves no empty chunk after it


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="ab ", max_size=20), st.sampled_from([1.0, 1.2])), max_size=12), st.sampled_from([8, 12, 75]))
def test_comfyui_chunk_rules(pieces, chunk_len):
    out = comfyui.chunks(pieces, char_tokens, comma_token=None, chunk_len=chunk_len)
    assert all(len(c.tokens) <= chunk_len for c in out)
    # a word of fewer than 8 tokens is never split across chunks
    groups = [char_tokens([w])[0] for text, _ in pieces for w in comfyui.words(text)]
    flat = [t for c in out for t in c.tokens]
    assert flat == [t for g in groups for t in g]
    bounds = set()
    n = 0
    for c in out[:-1]:
        n += len(c.tokens)
        bounds.add(n)
    start = 0
    for g in groups:
        if 0 < len(g) < comfyui.MAX_WORD_LENGTH:
            assert not any(start < b < start + len(g) for b in bounds)
        start += len(g)
