"""The restorations: inputs checked by the policy, solved by the posterior.

Each function here is one restoration as a door sees it: the public
functions of :mod:`sksm.restoration` (the ``*_channels`` functions: images
with channels, data ranges and Dask arrays) and the restoration methods of
:class:`~sksm.FieldsOfExperts` (the ``*_images`` functions: one grayscale
image or a stack).  Every input goes through :mod:`._policy` once, the
numerics are :mod:`sksm.posterior`'s, and the result comes back in the form
and dtype of the input.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .. import posterior
from .._dask import is_dask_array, restore_chunks
from ._arguments import (
    annealed_fill_arguments,
    annealed_inpaint_arguments,
    calibration_arguments,
    check_factor,
    check_masks,
    counts,
    denoise_arguments,
    empirical_bayes_arguments,
    explicit_on_dask,
    inpaint_arguments,
    super_resolve_arguments,
)
from ._inverse import super_resolve_kernel
from ._photons import check_noise, denoise_photons
from ._policy import (
    channels,
    check_images,
    image_from,
    is_noise_conditional,
    model_or_pretrained,
    noise_level,
    restorable,
    restored,
)

__all__ = ["calibrate_images", "denoise_channels", "denoise_images",
           "inpaint_channels", "inpaint_images", "super_resolve_channels",
           "super_resolve_images"]


# ---------------------------------------------------------------------- #
# Grayscale images and stacks (the doors of FieldsOfExperts come here)
# ---------------------------------------------------------------------- #
def denoise_images(model, images, sigma, *, method="fista",
                   prior_weight="auto", prior_scale="auto", max_iter=None,
                   self_ensemble=1, tile_size=256, random_state=None):
    """:meth:`FieldsOfExperts.denoise`: one image or a stack, no colour."""
    check_is_fitted(model)
    stack, arr = check_images(model, images, unit_range=True)
    sigma = noise_level(sigma, stack, arr.dtype, depth=2)
    prior, keywords = denoise_arguments(
        model, sigma, method=method, prior_weight=prior_weight,
        prior_scale=prior_scale, max_iter=max_iter,
        self_ensemble=self_ensemble, tile_size=tile_size)
    out = posterior.denoise(prior, list(stack), sigma,
                            random_state=random_state, **keywords)
    return restored(out, stack, arr)


def calibrate_images(model, images, sigmas=None, prior_weights=None,
                     prior_scales=None, *, method="fista", max_iter=None,
                     self_ensemble=1, search="local", random_state=0):
    """:meth:`FieldsOfExperts.calibrate_denoising`: the table of rows
    (sigma, prior weight, prior scale), an ndarray of shape (n_levels, 3)."""
    priors, scales, clean, sigmas, weights, rng, keywords = \
        calibration_arguments(model, images, sigmas, prior_weights,
                              prior_scales, method=method, max_iter=max_iter,
                              self_ensemble=self_ensemble, search=search,
                              random_state=random_state)
    best = posterior.calibrate_denoising(priors, scales, clean, sigmas,
                                         weights, rng, **keywords)
    return np.array([(sigma, weights[i], scales[j])
                     for sigma, (i, j) in zip(sigmas, best)])


def super_resolve_images(model, image, factor=2, *, n_iter="auto",
                         max_iter=200, step=None, prior_weight=1.0,
                         start="bicubic", tile_size=256):
    """:meth:`FieldsOfExperts.super_resolve`: one image or a stack."""
    check_is_fitted(model)
    factor = check_factor(factor)
    stack, arr = check_images(model, image, "image", unit_range=True,
                              factor=factor)
    prior, keywords = super_resolve_arguments(
        model, factor, n_iter=n_iter, max_iter=max_iter, step=step,
        prior_weight=prior_weight, start=start, tile_size=tile_size)
    out = posterior.super_resolve(prior, list(stack), factor, **keywords)
    return restored(out, stack, arr)


def inpaint_images(model, image, mask, *, prior_weight="auto",
                   smoothness=1.0, max_iter=300, tile_size=256):
    """:meth:`FieldsOfExperts.inpaint`: one image or a stack."""
    check_is_fitted(model)
    stack, arr = check_images(model, image, "image", unit_range=True)
    mask = check_masks(mask, arr.shape)
    masks = mask[None] if arr.ndim == 2 else mask
    prior, keywords = inpaint_arguments(
        model, masks, prior_weight=prior_weight, smoothness=smoothness,
        max_iter=max_iter, tile_size=tile_size)
    if not mask.any():
        return arr.copy()
    out = posterior.inpaint(prior, list(stack), list(masks), **keywords)
    return restored(out, stack, arr)


# ---------------------------------------------------------------------- #
# Images with channels (sksm.restoration comes here)
# ---------------------------------------------------------------------- #
def _overlap(model, max_num_iter):
    """Context a chunk needs: the model's, or for a noise-conditional
    prior given its number of steps, their reach."""
    if is_noise_conditional(model) and max_num_iter is not None:
        return counts(max_num_iter, None, "max_num_iter")[0] * model.reach_
    return model.tile_overlap_


def _denoiser(model, *, method, max_num_iter, rng, prior_weight,
              prior_scale, self_ensemble, tile_size):
    """``run(stack, sigma)``: the stack of float images (n, height, width)
    denoised at the checked level ``sigma`` by ``model``, as a float array.

    A noise-conditional model's arguments are checked here; a
    FieldsOfExperts' by ``run``, as its prior weight and scale depend on
    ``sigma``."""
    if is_noise_conditional(model):
        keywords = empirical_bayes_arguments(
            model, method="annealed" if method is None else method,
            prior_weight=prior_weight, prior_scale=prior_scale,
            max_iter=max_num_iter, self_ensemble=self_ensemble,
            tile_size=tile_size)
        return lambda stack, sigma: np.stack(posterior.empirical_bayes(
            model.field_, list(stack), sigma, **keywords))

    def run(stack, sigma):
        prior, keywords = denoise_arguments(
            model, sigma, method=method, prior_weight=prior_weight,
            prior_scale=prior_scale,
            max_iter=counts(max_num_iter, None, "max_num_iter")[0],
            self_ensemble=self_ensemble, tile_size=tile_size)
        return np.stack(posterior.denoise(prior, list(stack), sigma,
                                          random_state=rng, **keywords))
    return run


def denoise_channels(image, sigma=None, *, noise="gaussian", peak=None,
                     model=None, channel_axis=None, data_range=None,
                     method=None, max_num_iter=None, rng=None,
                     prior_weight="auto", prior_scale="auto",
                     self_ensemble=1, tile_size=256):
    """:func:`sksm.restoration.denoise`."""
    model = model_or_pretrained(model, "denoise")
    noise, peak = check_noise(noise, sigma, peak)
    if noise != "gaussian":
        for name, value, default in (
                ("prior_weight", prior_weight, "auto"),
                ("prior_scale", prior_scale, "auto"), ("rng", rng, None),
                ("self_ensemble", self_ensemble, 1)):
            if not (value is default or value == default):
                raise ValueError(
                    f"{name}={value!r} applies to Gaussian noise; with "
                    f"noise={noise!r} leave {name}={default!r}.")
    if is_dask_array(image):
        if sigma is None and noise == "gaussian":
            raise ValueError(
                "Denoising a Dask array needs sigma: estimate it on a crop "
                "with sksm.restoration.estimate_sigma (the whole image is "
                "not read into one place).")
        return restore_chunks(
            lambda window: denoise_channels(
                window, sigma, noise=noise, peak=peak, model=model,
                channel_axis=channel_axis, data_range=data_range,
                method=method, max_num_iter=max_num_iter, rng=rng,
                prior_weight=prior_weight, prior_scale=prior_scale,
                self_ensemble=self_ensemble, tile_size=tile_size),
            [image], _overlap(model, max_num_iter), channel_axis=channel_axis)
    denoise = _denoiser(
        model, method=method, max_num_iter=max_num_iter, rng=rng,
        prior_weight=prior_weight, prior_scale=prior_scale,
        self_ensemble=self_ensemble, tile_size=tile_size)
    if noise != "gaussian":
        return denoise_photons(image, sigma, peak, denoise, model=model,
                               channel_axis=channel_axis,
                               data_range=data_range)
    x, arr = channels(model, image, channel_axis, data_range)
    stack = restorable(x)
    if sigma is None and is_noise_conditional(model):
        # the prior's estimate, averaged over the channels that are not
        # constant (those hold no noise)
        held = [c for c in stack if np.ptp(c) > 0] or list(stack)
        sigma = float(np.mean([posterior.estimate_noise(model.field_, c)
                               for c in held]))
    else:
        sigma = noise_level(sigma, x, arr.dtype, data_range, depth=2)
    return image_from(denoise(stack, sigma).astype(stack.dtype, copy=False),
                      arr, channel_axis, data_range)


def super_resolve_channels(image, factor=2, *, kernel="box", sigma=None,
                           model=None, channel_axis=None, data_range=None,
                           n_iter="auto", max_num_iter=None, step=None,
                           prior_weight=None, start=None, tile_size=256):
    """:func:`sksm.restoration.super_resolve`."""
    model = model_or_pretrained(model, "super_resolve")
    factor = check_factor(factor)
    if not (isinstance(kernel, str) and kernel == "box") or sigma is not None:
        return super_resolve_kernel(
            image, factor, kernel, sigma, model=model,
            channel_axis=channel_axis, data_range=data_range, n_iter=n_iter,
            max_num_iter=max_num_iter, step=step, prior_weight=prior_weight,
            start=start, tile_size=tile_size)
    conditional = is_noise_conditional(model)
    if is_dask_array(image):
        if not conditional:
            explicit_on_dask(n_iter, "n_iter", "super-resolving")
        context = (posterior.FILL_OVERLAP if conditional
                   else -(-model.tile_overlap_ // factor))
        return restore_chunks(
            lambda window: super_resolve_channels(
                window, factor, model=model, channel_axis=channel_axis,
                data_range=data_range, n_iter=n_iter,
                max_num_iter=max_num_iter, step=step,
                prior_weight=prior_weight, start=start, tile_size=tile_size),
            [image], context, factor=factor, channel_axis=channel_axis)
    x, arr = channels(model, image, channel_axis, data_range, factor)
    stack = restorable(x)
    if conditional:
        keywords = annealed_fill_arguments(
            model, factor, n_iter=n_iter, max_iter=max_num_iter, step=step,
            prior_weight=prior_weight, start=start, tile_size=tile_size)
        out = posterior.annealed_super_resolve(model.field_, list(stack),
                                               factor, **keywords)
    else:
        prior, keywords = super_resolve_arguments(
            model, factor, n_iter=n_iter,
            max_iter=counts(max_num_iter, None, "max_num_iter")[0],
            step=step, prior_weight=prior_weight, start=start,
            tile_size=tile_size)
        out = posterior.super_resolve(prior, list(stack), factor, **keywords)
    return image_from(np.stack(out).astype(stack.dtype, copy=False), arr,
                      channel_axis, data_range)


def inpaint_channels(image, mask, *, model=None, channel_axis=None,
                     data_range=None, prior_weight="auto", smoothness=None,
                     max_num_iter=None, tile_size=256,
                     return_prior_weight=False):
    """:func:`sksm.restoration.inpaint`."""
    model = model_or_pretrained(model, "inpaint")
    conditional = is_noise_conditional(model)
    if is_dask_array(image):
        explicit_on_dask(prior_weight, "prior_weight", "inpainting")
        out = restore_chunks(
            lambda window, holes: inpaint_channels(
                window, holes, model=model, channel_axis=channel_axis,
                data_range=data_range, prior_weight=prior_weight,
                smoothness=smoothness, max_num_iter=max_num_iter,
                tile_size=tile_size),
            [image, mask], (posterior.INPAINT_OVERLAP if conditional
                            else model.tile_overlap_),
            channel_axis=channel_axis)
        return (out, float(prior_weight)) if return_prior_weight else out
    x, arr = channels(model, image, channel_axis, data_range)
    mask = check_masks(mask, x.shape[1:], "the image's pixels (height, "
                                          "width)")
    stack = restorable(x)
    masks = [mask] * len(stack)
    if conditional:
        keywords = annealed_inpaint_arguments(
            masks, prior_weight=prior_weight, smoothness=smoothness,
            max_iter=max_num_iter, tile_size=tile_size)
    else:
        prior, keywords = inpaint_arguments(
            model, masks, prior_weight=prior_weight, smoothness=smoothness,
            max_iter=counts(max_num_iter, None, "max_num_iter")[0],
            tile_size=tile_size)
    if not mask.any():
        out, weights = arr.copy(), [0.0] * len(stack)
    else:
        if conditional:
            out, weights = posterior.annealed_inpaint(
                model.field_, list(stack), masks, return_levels=True,
                **keywords)
        else:
            out, weights = posterior.inpaint(prior, list(stack), masks,
                                             return_weights=True, **keywords)
        out = image_from(np.stack(out).astype(stack.dtype, copy=False), arr,
                         channel_axis, data_range)
    if not return_prior_weight:
        return out
    if channel_axis is None:
        return out, float(weights[0])
    return out, np.resize(np.asarray(weights, float), x.shape[0])
