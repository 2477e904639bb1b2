"""Copies the spec data the package reads into it when building, so an
installed (non-editable) aigif has them too: registry/ as aigif/_registry
(see aigif.registry.registry_dir; it holds the prompt coder's model,
prompt_model.bin, too) and the tiny conformance models
vectors/models as aigif/_models (see aigif.regen.loading.local_model_dir)."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

#: source folder in the checkout -> folder inside the built package
PACKAGED = {"registry": "_registry", "vectors/models": "_models"}


class BuildWithData(build_py):
    def run(self):
        super().run()
        here = Path(__file__).parent
        for src, name in PACKAGED.items():
            dst = Path(self.build_lib) / "aigif" / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(here / src, dst, ignore=shutil.ignore_patterns(".tmp", "__pycache__"))


setup(cmdclass={"build_py": BuildWithData})
