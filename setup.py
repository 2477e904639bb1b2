"""Copies registry/ into the package when building, so an installed (non-editable)
aigif finds its registry as aigif/_registry (see aigif.registry.registry_dir)."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithRegistry(build_py):
    def run(self):
        src = Path(__file__).parent / "registry"
        dst = Path(self.build_lib) / "aigif" / "_registry"
        super().run()
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)


setup(cmdclass={"build_py": BuildWithRegistry})
