"""The restoration methods of an image prior: doors onto the one policy.

:class:`~sksm.FieldsOfExperts` inherits :class:`RestorationMixin`: its
``denoise``, ``calibrate_denoising``, ``super_resolve`` and ``inpaint`` are
written here, in the restoration room, as thin doors onto
:mod:`sksm.restoration._restore` (every check in ``_policy``, the numerics
in :mod:`sksm.posterior`), as scikit-learn's mixins give its estimators
``score`` or ``fit_transform``.  A model restored by these methods needs the fitted
attributes of a Field of Experts (``filters_``, ``expert_weights_``, ``c``,
``whiten``, ``filter_size``, ``reach_``, ``tile_overlap_`` and, if
calibrated, ``denoise_calibration_``).
"""

from .._validation import renamed_argument
from ._restore import (
    calibrate_images,
    denoise_images,
    inpaint_images,
    super_resolve_images,
)

__all__ = ["RestorationMixin"]


class RestorationMixin:
    """Denoising, calibration, super-resolution and inpainting of images."""

    def denoise(self, images, sigma=None, *, method="fista",
                prior_weight="auto", prior_scale="auto", max_iter=None,
                self_ensemble=1, tile_size=256, random_state=None,
                noise_sigma="deprecated"):
        r"""MAP restoration of images with additive white Gaussian noise.

        Minimises :math:`w\,E(x) + \lVert x - y\rVert^2 / (2 \sigma^2)`
        over an image extended by :attr:`reach_` pixels on every side
        (reflected), the data term covering the original pixels only.  Every
        image of a stack, and every tile of a large image, is a problem of
        its own.  The door of this model onto :func:`sksm.restoration.denoise`,
        which describes the methods and settings, for one grayscale image or
        a stack.

        Parameters
        ----------
        images : array-like of shape (height, width) or (n, height, width)
            Noisy images of any size.  Integer images are read as [0, 1] (by
            their dtype's range) and returned in their dtype and range.
        sigma : float, default=None
            Noise standard deviation, in [0, 1] units for integer images and
            in the images' units for float images; at most half the white
            level.  None: estimated from the images (the mean of
            :func:`sksm.image.estimate_sigma` over them).
        method : {'fista', 'lbfgs', 'paper', 'mmse'}, default='fista'
            As in :func:`sksm.restoration.denoise`.
        prior_weight, prior_scale : float or 'auto', default='auto'
            As in :func:`sksm.restoration.denoise`: 'auto' takes them from
            :meth:`calibrate_denoising` (1 without a calibration).
        max_iter : int, default=None
            Iterations or steps of ``method``; None: its default.
        self_ensemble : {1, 2, 4, 8}, default=1
            As in :func:`sksm.restoration.denoise`.
        tile_size : int or None, default=256
            Largest side, in pixels, of the tiles a large image is restored
            in (each with :attr:`tile_overlap_` pixels of context); None
            restores every image whole.
        random_state : int, RandomState instance or None, default=None
            Seeds the sampler of ``method='mmse'``.
        noise_sigma : float
            Deprecated spelling of ``sigma`` (a ``FutureWarning``); removed
            in 0.3.

        Returns
        -------
        denoised : ndarray of the same shape (and dtype) as ``images``
            The MAP (or, with 'mmse', posterior mean) estimates, in the
            range and dtype of the input; integer images are rounded and
            clipped to their dtype.

        Raises
        ------
        ValueError
            If ``sigma`` is not a positive number or is above half the white
            level (a level in other units, such as grey levels for a uint8
            image: the message says which value to pass), an image is
            smaller than the filters' support or not on the [0, 1] scale,
            or an argument is out of range.

        Warns
        -----
        UserWarning
            When ``sigma`` is far from the noise the images seem to hold
            (most likely a level in other units).
        """
        sigma = renamed_argument(sigma, noise_sigma, "sigma", "noise_sigma")
        return denoise_images(
            self, images, sigma, method=method, prior_weight=prior_weight,
            prior_scale=prior_scale, max_iter=max_iter,
            self_ensemble=self_ensemble, tile_size=tile_size,
            random_state=random_state)

    def calibrate_denoising(self, images, sigmas=None, prior_weights=None,
                            prior_scales=None, *, method="fista",
                            max_iter=None, self_ensemble=1, search="local",
                            random_state=0, noise_sigmas="deprecated"):
        """Choose the prior weight and scale of :meth:`denoise` per noise level.

        A prior learned by score matching is not tuned for any noise level.
        For every noise level, this adds seeded Gaussian noise to each clean
        image, denoises it with candidate (weight, scale) pairs and keeps the
        pair of the highest mean PSNR (data range 1).  The result is stored
        as ``denoise_calibration_`` and used by ``denoise`` with
        ``prior_weight='auto'`` and ``prior_scale='auto'``.  Calibrate on
        images that the model was trained on, or others that are not used to
        evaluate it.

        Parameters
        ----------
        images : array-like or list of array-likes
            Clean images: one (height, width) image, a stack (n, height,
            width) or a list of images of any sizes, in [0, 1] units
            (integer images are scaled by their dtype's range).
        sigmas : sequence of float, default=None
            None: 5, 10, 15, 25, 35 and 50 on the 0-255 scale (divided by
            255).
        prior_weights : sequence of float, default=None
            Candidate weights, in increasing order; None: 9 values from 0.037
            to 2, evenly spaced in log (ratio :math:`20^{1/6}`).
        prior_scales : sequence of float, default=None
            Candidate scales, in increasing order; None: 0.5, 0.7, 1, 1.5, 2,
            2.5, 3.5, 5, 7, 10, 14, 20, 28, 40.
        method : {'fista', 'lbfgs', 'paper'}, default='fista'
            The method of :meth:`denoise` to calibrate for.
        max_iter : int, default=None
            Its iterations (None: its default).
        self_ensemble : {1, 2, 4, 8}, default=1
            The self-ensemble of :meth:`denoise` to calibrate for.
        search : {'local', 'grid'}, default='local'
            'grid' tries every pair.  'local' climbs the grid of pairs from
            the best pair of the previous noise level (the middle of the grid
            for the first), to the best of the eight neighbours, until no
            neighbour is better: it finds a local maximum of the PSNR on the
            grid with a small fraction of the evaluations.
        random_state : int, RandomState instance or None, default=0
            Seeds the noise.
        noise_sigmas : sequence of float
            Deprecated spelling of ``sigmas`` (a ``FutureWarning``); removed
            in 0.3.

        Returns
        -------
        self : FieldsOfExperts
            The model, with ``denoise_calibration_`` set.

        Raises
        ------
        ValueError
            If an argument is out of range, a noise level is not positive
            or an image is smaller than the window of the filters.
        """
        sigmas = renamed_argument(sigmas, noise_sigmas, "sigmas",
                                  "noise_sigmas")
        self.denoise_calibration_ = calibrate_images(
            self, images, sigmas, prior_weights, prior_scales, method=method,
            max_iter=max_iter, self_ensemble=self_ensemble, search=search,
            random_state=random_state)
        return self

    def super_resolve(self, image, factor=2, *, n_iter="auto", max_iter=200,
                      step=None, prior_weight=1.0, start="bicubic",
                      tile_size=256):
        """Upscale images whose pixels are block means (paper section 4.3).

        The door of this model onto :func:`sksm.restoration.super_resolve`,
        which describes the procedure and its settings, for one grayscale
        image or a stack.

        Parameters
        ----------
        image : array-like of shape (height, width) or (n, height, width)
            Integer images are read as [0, 1] and returned in their dtype.
        factor : int, default=2
            Upscaling factor per side, at least 2.
        n_iter : int or 'auto', default='auto'
            Steps to run, from 0 (the projected start) to ``max_iter``;
            'auto' chooses them for each image from the image itself.
        max_iter : int, default=200
            Length of the annealing schedule of the step (None: 200).
        step : tuple of (float, float), default=None
            First and last step sizes; None: from :meth:`prior_lipschitz`.
        prior_weight : float, default=1.0
            Weight of the prior energy in each step, positive.
        start : {'bicubic', 'paper'}, default='bicubic'
            The upscaling the steps start from.
        tile_size : int or None, default=256
            Largest side of a tile of the output.

        Returns
        -------
        upscaled : ndarray of shape (height * factor, width * factor), or \
(n, height * factor, width * factor)
            In the dtype of ``image``; every ``factor`` x ``factor`` block
            averages to the input pixel (before rounding, for integer
            images).

        Raises
        ------
        ValueError
            If ``factor`` is not an integer of at least 2, the upscaled
            image is smaller than the filters' support, or an argument is
            out of range.
        """
        return super_resolve_images(
            self, image, factor, n_iter=n_iter, max_iter=max_iter, step=step,
            prior_weight=prior_weight, start=start, tile_size=tile_size)

    def inpaint(self, image, mask, *, prior_weight="auto", smoothness=1.0,
                max_iter=300, tile_size=256):
        r"""Fill the pixels where ``mask`` is True under the prior.

        The missing pixels minimise :math:`w E(x) + \frac{s}{2} \lVert
        \Delta x \rVert^2`; the door of this model onto
        :func:`sksm.restoration.inpaint`, which describes the procedure and
        its settings, for one grayscale image or a stack.

        Parameters
        ----------
        image : array-like of shape (height, width) or (n, height, width)
            Integer images are read as [0, 1] and returned in their dtype.
        mask : array-like of bool, shape of ``image``
            True where a pixel is missing.
        prior_weight : float or 'auto', default='auto'
            ``w``, at least 0; 0 gives the biharmonic fill; 'auto' chooses it
            for each image.
        smoothness : float, default=1.0
            ``s``, at least 0.
        max_iter : int, default=300
            L-BFGS-B iterations per tile.
        tile_size : int or None, default=256
            See :meth:`denoise`.

        Returns
        -------
        inpainted : ndarray of the shape and dtype of ``image``
            The known pixels unchanged, the missing ones filled.

        Raises
        ------
        ValueError
            If the mask does not match the image or covers every pixel of an
            image, or if both ``prior_weight`` and ``smoothness`` are 0.
        """
        return inpaint_images(
            self, image, mask, prior_weight=prior_weight,
            smoothness=smoothness, max_iter=max_iter, tile_size=tile_size)
