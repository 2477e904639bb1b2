"""The examples the Python API pages show are doctests: they run as written,
from the checkout, and print what the page says they print."""
import doctest
import importlib
from pathlib import Path

import pytest

#: module -> how many examples its docstrings hold at least (a page that loses its examples fails)
EXAMPLES = {"aigif.codec": 3, "aigif.jsonform": 2, "aigif.importers": 5, "aigif": 3}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_api_examples_run_as_written(name, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted >= EXAMPLES[name]
