"""AIGIF reference implementation: ``aigif.codec.read`` / ``write`` /
``validate`` need nothing heavy; ``aigif.record`` (regeneration) imports
torch and diffusers on first use."""

__version__ = "1.0.0"  # the package's version (pyproject.toml reads it from here)


def record(pipe, path=None, **kwargs):
    """Call a diffusers pipeline and return (image, AigifFile) that regenerates
    it; see :func:`aigif.regen.encode.record`."""
    from .regen.encode import record as _record
    return _record(pipe, path, **kwargs)
