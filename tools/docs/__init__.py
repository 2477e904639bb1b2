"""The website's build: tools/docs/hooks.py (mkdocs.yml's hook) and the page generators beside it."""
