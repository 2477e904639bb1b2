"""Maintainer tools: run from the repository root as ``python -m tools.<name>``
(``python -m tools.vectors`` builds the conformance vectors)."""
