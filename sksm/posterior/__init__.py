r"""Restoration as inference under an image prior, in overlapping tiles.

Everything here works on an :class:`ImagePrior` (an energy over images with
its gradient, from :mod:`sksm.energies.pixel_prior`), on arrays and numbers,
never on an estimator: :mod:`sksm.restoration` sets the policy (dtypes,
channels, noise levels, defaults, every check) and builds the prior from a
fitted :class:`~sksm.FieldsOfExperts`.  The estimators of the paper's
section 4.2-4.3:

- :func:`denoise`: the posterior of an image observed with additive white
  Gaussian noise, :math:`w E(x) + \lVert x - y\rVert^2 / (2\sigma^2)`,
  minimised by FISTA or L-BFGS (MAP), by the paper's annealed steepest
  descent, or averaged by a Metropolis-adjusted Langevin chain (MMSE);
- :func:`super_resolve`: projected, annealed descent on the prior under the
  constraint that every ``factor`` x ``factor`` block keeps its mean, for a
  number of steps chosen from the image itself;
- with a noise-conditional prior
  (:class:`~sksm.energies.NoiseConditionalField`): :func:`empirical_bayes`
  denoises by annealed Tweedie steps,
  :func:`annealed_super_resolve` upscales by such steps projected onto the
  block means, and :func:`estimate_noise` reads the noise level off the
  prior;
- :func:`inpaint`: L-BFGS-B on the prior plus the biharmonic smoothness
  term over the missing pixels, the prior's weight chosen from the image
  itself;
- :func:`calibrate_denoising`: the prior weight and scale of denoising for
  each noise level, searched on clean images;
- :func:`denoise_rows`: the MAP estimate of noisy rows under an energy on
  vectors (the Product of Experts' ``denoise``);
- forward operators for any linear degradation (:class:`Blur`,
  :class:`Downsample`, :class:`Mask`, :class:`Compose`), each with its
  adjoint, and :func:`half_quadratic_splitting`, which restores an image
  observed through any of them with white noise under a noise-conditional
  prior.

Every image of a stack is a problem of its own, and so is every tile of a
large image: the image is cut into tiles of at most ``tile_size`` pixels a
side, each solved with ``overlap`` pixels of context on every side and only
its core kept (:func:`tiles`).  Memory then grows with the tile, not the
image, and cost grows linearly with the number of pixels.  The tiles go to
threads through :class:`joblib.Parallel` (NumPy releases the GIL), each
evaluating the prior on one core: as many as BLAS may use, or the
``n_jobs`` of an enclosing :func:`joblib.parallel_config`; the results do
not depend on their number.

One private module per concern: ``_tiles`` (cutting, threads), ``_denoise``,
``_fill`` (super-resolution, inpainting), ``_empirical_bayes`` (the
noise-conditional prior's restorations), ``_operators``, ``_downsample``
and ``_inverse`` (linear inverse problems), ``_poisson`` (photon noise),
``_calibrate`` and ``_rows``.
"""

from ..energies.pixel_prior import ImagePrior
from ._calibrate import calibrate_denoising
from ._denoise import denoise
from ._downsample import Downsample
from ._empirical_bayes import (
    FILL_LEVELS,
    FILL_OVERLAP,
    FILL_STEP,
    FILL_STEPS,
    INPAINT_FIRST_LEVELS,
    INPAINT_OVERLAP,
    annealed_inpaint,
    annealed_super_resolve,
    empirical_bayes,
    estimate_noise,
)
from ._fill import (
    AUTO_FRACTION,
    PRIOR_WEIGHTS,
    biharmonic_fill,
    inpaint,
    super_resolve,
)
from ._inverse import (
    DECONVOLVE_SCHEDULE,
    INVERSE_OVERLAP,
    SUPER_RESOLVE_SCHEDULE,
    SUPER_RESOLVE_SIGMA,
    half_quadratic_splitting,
    hqs_levels,
)
from ._operators import Blur, Compose, Mask
from ._poisson import STABILISED_LEVEL, anscombe, exact_unbiased_inverse
from ._rows import denoise_rows
from ._tiles import tiles

__all__ = ["AUTO_FRACTION", "Blur", "Compose", "DECONVOLVE_SCHEDULE",
           "Downsample", "FILL_LEVELS", "FILL_OVERLAP", "FILL_STEP",
           "FILL_STEPS", "INPAINT_FIRST_LEVELS", "INPAINT_OVERLAP",
           "INVERSE_OVERLAP", "ImagePrior", "Mask", "PRIOR_WEIGHTS",
           "STABILISED_LEVEL", "SUPER_RESOLVE_SCHEDULE",
           "SUPER_RESOLVE_SIGMA",
           "annealed_inpaint", "annealed_super_resolve", "anscombe",
           "biharmonic_fill",
           "calibrate_denoising", "denoise", "denoise_rows",
           "empirical_bayes", "estimate_noise", "exact_unbiased_inverse",
           "half_quadratic_splitting",
           "hqs_levels", "inpaint", "super_resolve", "tiles"]
