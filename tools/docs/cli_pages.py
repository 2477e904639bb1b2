"""The command-line reference (cli.md), from the argparse parsers of the installed programs.

Each console script of the ``aigif`` distribution (pyproject.toml's [project.scripts]) is called
with ``parse_args`` replaced by a function that hands back the parser, so the page shows argparse's
own ``--help`` text and nothing runs. A subcommand is asked for on its own (``main(["info"])``),
since ``aigif`` imports a subcommand's module only when it is chosen; one whose module cannot be
imported here is listed with the reason.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import importlib.metadata
import io
import os
import re
from unittest import mock

DISTRIBUTION = "aigif"
INTRO = ("Generated at build time from the programs' own `--help`{ .aigif-opt } (argparse), so it matches the "
         "installed reference implementation. Commands whose module could not be imported in the build "
         "environment are listed with the reason.\n\n")

# Each --help is formatted twice: WIDE columns for a desktop window (as in a 90-column terminal),
# NARROW for a phone (360-390 px CSS wide); docs/assets/extra.css shows one of the two, by the window's
# width, and the narrow copy is left out of the search index. Narrow, each option's help goes on the lines under it (argparse's
# max_help_position), so the text has the whole width instead of a 20-column strip beside the option.
WIDE = 88
NARROW = 42
NARROW_HELP_INDENT = 6

# A few lines of use per command, shown above its --help: {(program, subcommand or None): shell lines}.
# tests/test_docs.py checks that every subcommand named here exists in the parsers.
EXAMPLES: dict[tuple[str, str | None], list[str]] = {
    ("aigif", "info"): ["aigif info x.aigif            # every field as JSON",
                        "aigif info x.aigif --bits     # bit by bit"],
    ("aigif", "pack"): ["aigif info x.aigif > fields.json",
                        "aigif pack fields.json -o y.aigif    # the exact inverse of aigif info"],
    ("aigif", "encode"): ['aigif encode --model tiny-sd1 --prompt "a red circle" -o x.aigif --png x.png'],
    ("aigif", "decode"): ["aigif decode x.aigif -o out.png",
                          "aigif decode x.aigif -o out.png --model-dir sd-1.5=/data/models/sd-1.5"],
    ("aigif", "verify"): ["aigif verify x.aigif    # regenerate and compare with the digest / pixel payload"],
    ("aigif", "convert"): ["aigif convert DIR -o OUTDIR    # AUTOMATIC1111, ComfyUI, InvokeAI, ... images -> .aigif"],
    ("aigif", "export"): ["aigif export x.aigif --format a1111    # settings as AUTOMATIC1111 parameters text"],
    ("aigif", "conformance"): ['aigif conformance run --decoder "python -m aigif.refdecoder" --level parse,reject'],
    ("aigif", "demo"): ["aigif demo    # encode, regenerate in a separate process, compare"],
    ("aigif", "list"): ["aigif list schedulers"],
    ("aigif-validate", None): ["aigif-validate FILE...    # exit 0 valid, 1 invalid with the spec's error code, 2 usage"],
    ("aigif-conformance", "run"): ['aigif-conformance run --decoder "python -m aigif.refdecoder" --level parse,reject'],
    ("aigif-conformance", "list"): ["aigif-conformance list --level parse"],
}


def _example(prog: str, command: str | None) -> str:
    lines = EXAMPLES.get((prog, command))
    return ("**Example**\n\n```sh\n" + "\n".join(lines) + "\n```\n\n**`--help`**\n\n") if lines else ""


class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        super().__init__(parser.prog)
        self.parser = parser


@contextlib.contextmanager
def _parsers_captured():
    """parse_args raises with its parser instead of parsing; help is plain (no colour), WIDE columns
    unless :func:`format_help` is given a width."""
    def grab(self, *args, **kwargs):
        raise _Captured(self)

    saved_env = {k: os.environ.get(k) for k in ("COLUMNS", "NO_COLOR", "PYTHON_COLORS")}
    os.environ.update(COLUMNS=str(WIDE + 2), NO_COLOR="1", PYTHON_COLORS="0")  # argparse: COLUMNS - 2
    try:
        with mock.patch.object(argparse.ArgumentParser, "parse_args", grab):
            yield
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def parser_of(main, argv: list[str]) -> tuple[argparse.ArgumentParser | None, str]:
    """(the parser ``main(argv)`` builds, "") or (None, why it built none)."""
    err = io.StringIO()
    with _parsers_captured(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except _Captured as c:
            return c.parser, ""
        except SystemExit:
            pass
        except Exception as exc:  # any failure is reported on the page
            return None, f"{type(exc).__name__}: {exc}"
    return None, err.getvalue().strip() or "the command did not build its argument parser"


def subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[argparse.ArgumentParser, str]]:
    """{name: (its parser, its one-line help)} of ``parser``'s subcommands."""
    for action in parser._actions:  # argparse has no public accessor
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return {name: (p, helps.get(name, "")) for name, p in action.choices.items()}
    return {}


def programs() -> dict[str, str]:
    """{program: "module:function"} of the distribution's console scripts, in pyproject's order."""
    try:
        eps = importlib.metadata.distribution(DISTRIBUTION).entry_points
    except importlib.metadata.PackageNotFoundError:
        return {}
    return {ep.name: ep.value for ep in eps if ep.group == "console_scripts"}


def anchor(prog: str, command: str, progs) -> str:
    """cli.html#aigif-info; a subcommand named like another program gets a suffix
    (``aigif conformance`` -> #aigif-conformance-command; the program aigif-conformance keeps #aigif-conformance)."""
    a = f"{prog}-{command}"
    return f"{a}-command" if a in progs else a


def format_help(parser: argparse.ArgumentParser, width: int, help_position: int | None = None) -> str:
    """``parser``'s --help, ``width`` columns wide (its own formatter class; argparse's default help
    position unless ``help_position``)."""
    kind = parser.formatter_class
    extra = {} if help_position is None else {"max_help_position": help_position}
    parser.formatter_class = functools.partial(kind, width=width, **extra)
    try:
        return parser.format_help().rstrip()
    finally:
        parser.formatter_class = kind


_USAGE_PART = re.compile(r"\(.*?\)+(?=\s|$)|\[.*?\]+(?=\s|$)|\S+")  # argparse's own split of a usage line


def narrow_help(parser: argparse.ArgumentParser, width: int = NARROW) -> str:
    """--help for a phone: :func:`format_help` ``width`` columns wide, its usage wrapped with a
    4-column hanging indent (argparse lines the usage up under the first option, which leaves 20
    columns when the program's name is long: ``[--negative-prompt NEGATIVE_PROMPT]`` would stick
    out). A part longer than a line (a long choice list) stays whole, on a line of its own."""
    text = format_help(parser, width, NARROW_HELP_INDENT)
    usage = format_help_usage(parser, width)
    one_line = format_help_usage(parser, 10**6).strip()
    if not text.startswith(usage.rstrip("\n")) or not one_line.startswith("usage: " + parser.prog):
        return text  # a parser with its own usage text: as argparse wraps it
    parts: list[str] = []
    for part in _USAGE_PART.findall(one_line[len("usage: " + parser.prog):]):
        if parts and parts[-1].startswith("-") and " " not in parts[-1] and part[:1] not in "-[(":
            parts[-1] += " " + part  # a required option and its value (-o FILE.aigif) stay together
        else:
            parts.append(part)
    lines = ["usage: " + parser.prog]
    for part in parts:
        if len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += " " + part
        else:
            lines.append("    " + part)
    return "\n".join(lines) + text[len(usage.rstrip("\n")):]


def format_help_usage(parser: argparse.ArgumentParser, width: int) -> str:
    kind = parser.formatter_class
    parser.formatter_class = functools.partial(kind, width=width)
    try:
        return parser.format_usage()
    finally:
        parser.formatter_class = kind


def _help(parser: argparse.ArgumentParser) -> str:
    wide = format_help(parser, WIDE)
    narrow = narrow_help(parser)
    return (f'<div class="aigif-help aigif-help-wide" markdown>\n\n```text\n{wide}\n```\n\n</div>\n'
            f'<div class="aigif-help aigif-help-narrow" data-search-exclude markdown>\n\n```text\n{narrow}\n```\n\n</div>\n')


def _warning(title: str, text: str) -> str:
    return f'!!! warning "{title}"\n\n    {text}\n\n'


def page() -> str:
    """The Markdown of cli.md."""
    progs = programs()
    out = ["---\nhide:\n  - navigation\n---\n\n# Command-line reference\n\n", INTRO]
    if not progs:
        out.append(_warning("No programs", f"The `{DISTRIBUTION}` distribution is not installed here: "
                                           "`pip install -e .` first."))
    for prog, target in progs.items():
        module, _, function = target.partition(":")
        out.append(f"## `{prog}` {{#{prog}}}\n\n")
        try:
            main = getattr(importlib.import_module(module), function)
        except Exception as exc:
            out.append(_warning("Not available in this build", f"`{module}` could not be imported: "
                                                               f"`{type(exc).__name__}: {exc}`"))
            continue
        parser, why = parser_of(main, [])
        if parser is None:
            out.append(_warning("No help available", why))
            continue
        out.append(_example(prog, None))
        out.append(_help(parser))
        for name, (sub, help_) in subcommands(parser).items():
            out.append(f"\n### `{prog} {name}` {{#{anchor(prog, name, progs)}}}\n\n")
            if help_:
                out.append(f"{help_[:1].upper()}{help_[1:]}.\n\n")
            full, why = parser_of(main, [name])  # the parser with this subcommand's arguments added
            if full is None:
                last = why.splitlines()[-1] if why else "unknown error"
                out.append(_warning("Not available in this build", f"`{prog} {name}` could not be set up here: `{last}`"))
                continue
            out.append(_example(prog, name))
            out.append(_help(subcommands(full).get(name, (sub, ""))[0]))
    return "".join(out)
