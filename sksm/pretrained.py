"""Models that ship with sksm."""

from importlib import resources

from .io import load_model

__all__ = ["load_pretrained_foe", "load_pretrained_ncfoe"]

_FOE_FILE = "foe_5x5x24.npz"
_NCFOE_FILE = "ncfoe_7x7x48.npz"


def _shipped(name):
    with resources.as_file(resources.files("sksm") / "data" / name) as path:
        return load_model(path)


def load_pretrained_foe():
    """The pretrained Field of Experts image prior, fitted.

    A :class:`~sksm.FieldsOfExperts` of 24 experts with 5x5 filters on the
    pixels (``whiten=None``) with learned norms
    (``normalize_filters=False``), learned by denoising score matching
    (``objective='dsm'``, noise of standard deviation 0.0245, the
    ``training_noise='auto'`` of ``reg_lambda=3e-4``; chosen over regularized
    score matching for denoising) on 300 grayscale patches of 36x36 from
    training photographs (none of the held-out images of the denoising
    benchmarks), with prior weights and scales for denoising calibrated on
    crops of other photographs (``denoise_calibration_``).
    ``benchmarks/train_pretrained_foe.py`` retrains it; the User Guide, "The
    pretrained prior", describes the images and the choices.

    Pixel values are in [0, 1]; noise levels too (sigma 15 on the 0-255 scale
    is ``15 / 255``).

    Its energy, gradient and restoration methods take images of any size;
    ``score``, ``score_samples`` and ``transform`` take 36x36 images as rows
    of 1,296 pixels (``image_shape_``), since the log-likelihood depends on
    the image size: for other sizes, score a copy made for them,
    ``model.with_image_shape((height, width))``, which estimates its own
    log partition function.

    Returns
    -------
    model : FieldsOfExperts
        Fitted, with ``filters_`` of shape (24, 5, 5) in float32.

    Examples
    --------
    >>> from sksm import load_pretrained_foe
    >>> model = load_pretrained_foe()
    >>> model.filters_.shape
    (24, 5, 5)
    >>> model.image_shape_
    (36, 36)
    """
    return _shipped(_FOE_FILE)


def load_pretrained_ncfoe():
    """The pretrained noise-conditional Field of Experts, fitted.

    The default prior of :func:`sksm.restoration.denoise`: a :class:`~sksm.NoiseConditionalFieldsOfExperts` of 48 zero-mean filters
    of 7x7, each with a Gaussian scale mixture expert of 16 scales, learned
    by denoising score matching over noise levels from 1 to 60 grey levels
    of 255 (``NoiseConditionalDSM()``) on patches of the training
    photographs of the benchmarks and their 2x and 4x reductions; the
    denoising schedule was chosen on other photographs (calibration crops),
    and no held-out image of the benchmarks was seen.
    ``benchmarks/train_pretrained_ncfoe.py`` retrains it; the User Guide,
    "The noise-conditional prior", gives its results against BM3D and
    non-local means.

    Pixel values are in [0, 1]; noise levels too.  One model is the prior at
    every noise level from about 1 to 60 / 255, and it estimates the level
    itself (:meth:`~sksm.NoiseConditionalFieldsOfExperts.estimate_sigma`).

    Returns
    -------
    model : NoiseConditionalFieldsOfExperts
        Fitted, with ``filters_`` of shape (48, 7, 7) in float32.

    Examples
    --------
    >>> from sksm import load_pretrained_ncfoe
    >>> model = load_pretrained_ncfoe()
    >>> model.filters_.shape
    (48, 7, 7)
    """
    return _shipped(_NCFOE_FILE)
