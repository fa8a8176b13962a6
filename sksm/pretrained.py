"""Models that ship with sksm."""

from importlib import resources

from .io import load_model

__all__ = ["load_pretrained_foe"]

_FOE_FILE = "foe_5x5x24.npz"


def load_pretrained_foe():
    """The pretrained Field of Experts image prior, fitted.

    A 5x5 filter, 24 expert :class:`~sksm.FieldsOfExperts` learned by
    denoising score matching (noise of standard deviation 0.0245, the
    ``noise_sigma='auto'`` of ``reg_lambda=3e-4``; measured better for
    denoising than regularized score matching, see
    ``benchmarks/bench_objectives.py``) on grayscale patches of photographs
    that ship with scikit-learn and scikit-image (none of the images of the
    denoising benchmark), with prior weights and scales for denoising
    calibrated on those training images.
    ``benchmarks/train_pretrained_foe.py`` retrains it.

    Pixel values are in [0, 1]; noise levels too (sigma 15 on the 0-255 scale
    is ``15 / 255``).

    Returns
    -------
    model : FieldsOfExperts

    Examples
    --------
    >>> from sksm import load_pretrained_foe
    >>> model = load_pretrained_foe()
    >>> model.filters_.shape
    (24, 5, 5)
    """
    with resources.as_file(resources.files("sksm") / "data" / _FOE_FILE) \
            as path:
        return load_model(path)
