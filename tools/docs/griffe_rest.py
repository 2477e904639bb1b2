"""A griffe extension (mkdocs.yml, mkdocstrings' ``extensions``): the reST markup of the reference
implementation's docstrings, as the Markdown that mkdocstrings renders.

- ``:func:`name```, ``:class:`~mod.Name```, ``:mod:`.sub``` and the other Sphinx roles become
  inline code, linked (autorefs' optional reference) when griffe finds the name in the package and
  the site documents it;
- ``>>>`` examples (which Markdown would read as nested quotes) and ``::`` literal blocks become
  fenced code blocks.

``double backticks`` need nothing: they are a Markdown code span too.
"""
from __future__ import annotations

import re
import textwrap

import griffe

ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc|obj|const):`(~?)([\w.]+)`")


class RestDocstrings(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = to_markdown(obj.docstring.value, lambda name, o=obj: _target(pkg, o, name))


def _walk(obj: griffe.Object):
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


def _exists(pkg: griffe.Module, path: str) -> bool:
    if path == pkg.path:
        return True
    if not path.startswith(pkg.path + "."):
        return False
    try:
        pkg[path[len(pkg.path) + 1:]]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


def _target(pkg: griffe.Module, obj: griffe.Object, name: str) -> str | None:
    """The full path that ``name`` stands for in ``obj``'s docstring, or None."""
    module = obj if obj.is_module else obj.module
    if name.startswith("."):  # relative to the module: a member, a submodule or a sibling
        bases = [module.path] + ([module.parent.path] if module.parent else [])
        candidates = [base + name for base in bases]
    else:
        head, _, rest = name.partition(".")
        try:
            resolved = obj.resolve(head)
        except (griffe.NameResolutionError, ValueError):
            resolved = head
        candidates = [resolved + ("." + rest if rest else ""), name]
    return next((c for c in candidates if _exists(pkg, c)), None)


def to_markdown(text: str, target) -> str:
    """``text`` with roles linked (``target(name)`` -> full path or None) and examples fenced."""
    def role(m: re.Match) -> str:
        name = m.group(2)
        label = name.rsplit(".", 1)[-1] if m.group(1) else name.lstrip(".")
        path = target(name)
        if not path:
            return f"`{label}`"
        # autorefs' optional reference: a link where the site renders that object, else the code alone
        return f'<autoref identifier="{path}" optional><code>{label}</code></autoref>'

    return _fence_blocks(ROLE.sub(role, text))


def _fence_blocks(text: str) -> str:
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        indent = line[:len(line) - len(line.lstrip())]
        if line.lstrip().startswith(">>>"):  # a doctest block: up to the next blank line
            j = i
            while j < len(lines) and lines[j].strip():
                j += 1
            out += [f"{indent}```pycon", *lines[i:j], f"{indent}```"]
            i = j
            continue
        if line.rstrip().endswith("::") and i + 2 < len(lines) and not lines[i + 1].strip() \
                and lines[i + 2].startswith(indent + " "):  # a reST literal block: the indented lines after it
            j = i + 2
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith(indent + " ")):
                j += 1
            while not lines[j - 1].strip():
                j -= 1
            head = line.rstrip()[:-2].rstrip()
            body = textwrap.dedent("\n".join(lines[i + 2:j])).split("\n")
            out += ([f"{head}:" if head.strip() else ""] + ["", f"{indent}```text"]
                    + [indent + b if b else b for b in body] + [f"{indent}```"])
            i = j
            continue
        out.append(line)
        i += 1
    return "\n".join(out)
