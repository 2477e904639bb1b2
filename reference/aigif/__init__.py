"""AIGIF reference implementation: ``aigif.codec.read`` / ``write`` /
``validate`` need nothing heavy; ``aigif.record`` (regeneration) imports
torch and diffusers on first use."""

__version__ = "1.0.0"  # the package's version (pyproject.toml reads it from here)


def record(pipe, path=None, **kwargs):
    """Call a diffusers pipeline and return (image, AigifFile) that regenerates
    it; see :func:`aigif.regen.encode.record`.

    On the bundled conformance model (run from the checkout; any diffusers
    pipeline of a registered family works the same way):

    >>> import aigif, torch
    >>> from diffusers import StableDiffusionPipeline
    >>> pipe = StableDiffusionPipeline.from_pretrained("vectors/models/tiny-sd1")
    >>> image, f = aigif.record(pipe, prompt="a red circle", height=64, width=64, num_inference_steps=4,
    ...                         generator=torch.Generator().manual_seed(7))
    >>> f.model, f.seed, f.fields["steps"], image.size
    ('tiny-sd1', 7, 4, (64, 64))

    Written to a path (``aigif.record(pipe, "cat.aigif", ...)``), the file is
    what ``aigif decode cat.aigif -o again.png`` regenerates, bit for bit on
    the same platform.
    """
    from .regen.encode import record as _record
    return _record(pipe, path, **kwargs)
