"""Copies the spec data the package reads into it when building, so an
installed (non-editable) aigif has them too: registry/ as aigif/_registry
(see aigif.registry.registry_dir; it holds the prompt coder's model,
prompt_model.bin, too) and the tiny conformance models
vectors/models as aigif/_models (see aigif.regen.loading.local_model_dir).

Builds the optional accelerator aigif._speedups (C, reference/aigif/_speedups.c and its
parts in reference/csrc/;
see aigif/_fast.py) when it can: without a C compiler or Python's headers the
build says so and goes on, and aigif runs the pure-Python reference.
AIGIF_PURE=1 at build time skips it."""
import os
import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
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
            shutil.copytree(here / src, dst, ignore=shutil.ignore_patterns(".tmp", "__pycache__", "single-file"))


class OptionalBuildExt(build_ext):
    """The accelerator is optional: any failure to build it leaves the pure-Python package."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler, no headers, ...: install without it
            print(f"warning: aigif._speedups not built ({exc}); the pure-Python reference will be used")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"warning: {ext.name} not built ({exc}); the pure-Python reference will be used")


SPEEDUPS = [] if os.environ.get("AIGIF_PURE", "") not in ("", "0") else [
    # one translation unit: _speedups.c includes its parts from reference/csrc/ (listed as depends, so a change rebuilds)
    Extension("aigif._speedups", ["reference/aigif/_speedups.c"], include_dirs=["reference/csrc"],
              depends=sorted(str(p) for p in Path("reference/csrc").glob("*.c")), optional=True,
              extra_compile_args=["-O2"] if os.name != "nt" else []),
]

setup(cmdclass={"build_py": BuildWithData, "build_ext": OptionalBuildExt}, ext_modules=SPEEDUPS)
