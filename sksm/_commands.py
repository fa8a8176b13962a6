"""What each ``sksm`` command does: read, check, restore or train, write.

:mod:`sksm.cli` builds the parser and runs the command it names; the
commands are here, one function each, taking the parsed arguments.
"""

import sys
import time
import warnings

import numpy as np

from . import _progress
from ._image_files._metadata import _source_info
from ._validation import check_sigma
from .foe import FieldsOfExperts
from .image import (
    check_output_path,
    check_unit_range,
    estimate_sigma,
    extract_patches,
    read_image,
    to_float,
    write_image,
)
from .io import load_model, save_model
from .ncfoe import NoiseConditionalFieldsOfExperts
from .pretrained import load_pretrained_foe, load_pretrained_ncfoe
from .restoration import deconvolve, denoise, inpaint, super_resolve
from .restoration._policy import NOISE_CONDITIONAL_TASKS

__all__ = ["UsageError", "run_deblur", "run_denoise", "run_inpaint",
           "run_super_resolve", "run_train", "task"]


class UsageError(Exception):
    """An error the user can fix: one line on stderr, exit code 2."""


def _log(message, start=None):
    if start is not None:
        message += f" ({time.perf_counter() - start:.1f} s)"
    print(message, file=sys.stderr, flush=True)


#: The commands whose function in sksm.restoration has another name.
_TASKS = {"deblur": "deconvolve"}


def task(command):
    """The name of the function of sksm.restoration behind ``command``."""
    return _TASKS.get(command, command.replace("-", "_"))


def _load(args):
    conditional = task(args.command) in NOISE_CONDITIONAL_TASKS
    if args.model is None:
        return (load_pretrained_ncfoe() if conditional
                else load_pretrained_foe())
    model = load_model(args.model)
    kinds = ((FieldsOfExperts, NoiseConditionalFieldsOfExperts) if conditional
             else (FieldsOfExperts,))
    if not isinstance(model, kinds):
        wanted = ("a FieldsOfExperts or NoiseConditionalFieldsOfExperts"
                  if conditional else "a FieldsOfExperts")
        raise UsageError(f"{args.model} holds a {type(model).__name__}, "
                          f"not {wanted} image prior")
    return model


def _restore_command(args, restoring):
    """Check the output, read every frame, restore, write; one line a step.

    ``restoring(image, kind, model)``, called once the input is read and
    checked and the model loaded, returns ``restore(model, frame,
    channel_axis, index)``, which restores frame ``index``.
    """
    image = read_image(args.input, all_frames=True)
    n_frames = len(image)
    kind = "colour" if image.ndim == 4 else "gray"
    check_output_path(args.output, (image.dtype, kind), n_frames=n_frames,
                      overwrite=args.overwrite, source=args.input,
                      quality=args.quality)
    _check_scale(image, args)
    model = _load(args)
    shape = image.shape[1:]
    frames = f", {n_frames} frames" if n_frames > 1 else ""
    _log(f"{args.command}: {args.input} {shape[1]}x{shape[0]} "
         f"{kind} {image.dtype}{frames} ...")
    restore = restoring(image, kind, model)
    start = time.perf_counter()
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    with _progress.reporting(args.command, enabled=show):
        results = [restore(model, frame, -1 if kind == "colour" else None, i)
                   for i, frame in enumerate(image)]
    # the results are on the input's scale, whose white is --data-range
    write_image(args.output, np.stack(results) if n_frames > 1
                else results[0], all_frames=n_frames > 1,
                data_range=args.data_range, source=args.input,
                quality=args.quality)
    height, width = results[0].shape[:2]
    _log(f"wrote {args.output} ({width}x{height})", start)
    return 0


def _check_scale(image, args):
    """Refuse float pixels off the [0, 1] scale without --data-range."""
    try:
        if image.dtype.kind == "f" and args.data_range is None:
            check_unit_range(image, args.input)
    except ValueError:
        raise UsageError(
            f"{args.input} holds float pixels from {image.min():.4g} to "
            f"{image.max():.4g}, and float files are read on the [0, 1] "
            "scale: give their white level with --data-range (e.g. 255)."
        ) from None


def _frame_sigma(model, frame, kind):
    """A frame's noise level on its float scale: the noise-conditional
    prior's estimate (the mean over the colour channels), else
    :func:`sksm.image.estimate_sigma`'s."""
    if isinstance(model, NoiseConditionalFieldsOfExperts):
        channels = frame[None] if kind != "colour" else np.moveaxis(frame, -1,
                                                                    0)
        return float(np.mean([model.estimate_sigma(c) for c in channels]))
    return estimate_sigma(frame, average_sigmas=True,
                          channel_axis=-1 if kind == "colour" else None)


def _estimated_sigmas(image, kind, args, model):
    """Each frame's noise level in the units of --sigma, told in one line."""
    white = 255.0 if args.data_range is None else args.data_range
    sigmas = [white * _frame_sigma(model, to_float(frame, args.data_range),
                                   kind) for frame in image]
    if min(sigmas) == 0:
        raise UsageError(f"{args.input}: the image seems to hold no noise "
                          "(estimated sigma 0); give its level with --sigma.")
    scale = ("on the 0-255 scale" if args.data_range is None
             else f"on the image's scale, white = {args.data_range:g}")
    values = (f"{sigmas[0]:.3g}" if len(sigmas) == 1 else
              f"{min(sigmas):.3g} to {max(sigmas):.3g} over the "
              f"{len(sigmas)} frames")
    _log(f"{args.command}: estimated noise level --sigma {values} ({scale}); "
         "give --sigma to set it")
    return sigmas


def run_denoise(args):
    # --sigma is on the 0-255 scale, or with --data-range on the image's
    # own: checked in those units, by the check of sksm.restoration; an
    # estimated level is told in them
    if args.sigma is not None:
        check_sigma(args.sigma, "--sigma")
    if args.noise != "gaussian":
        return _denoise_photons(args)

    def restoring(image, kind, model):
        sigmas = ([args.sigma] * len(image) if args.sigma is not None
                  else _estimated_sigmas(image, kind, args, model))
        # sksm.restoration takes the level on the image's scale, [0, 1]
        # for integer images without data_range
        per_unit = 255.0 if args.data_range is None else 1.0

        def restore(model, frame, axis, i):
            with warnings.catch_warnings():
                if args.sigma is None:  # an estimate needs no check of units
                    warnings.filterwarnings("ignore", "The noise level")
                return denoise(
                    frame, sigmas[i] / per_unit, model=model,
                    channel_axis=axis, method=args.method,
                    self_ensemble=args.self_ensemble,
                    data_range=args.data_range, tile_size=args.tile_size)
        return restore

    return _restore_command(args, restoring)


def _denoise_photons(args):
    """``sksm denoise --noise poisson|poisson-gaussian --peak COUNT``."""
    if args.peak is None:
        raise UsageError(f"--noise {args.noise} needs --peak, the photon "
                          "count of white")
    if (args.sigma is None) != (args.noise == "poisson"):
        raise UsageError(
            "--noise poisson takes no --sigma" if args.noise == "poisson"
            else "--noise poisson-gaussian needs --sigma, the Gaussian part")
    per_unit = 255.0 if args.data_range is None else 1.0
    sigma = None if args.sigma is None else args.sigma / per_unit
    return _restore_command(args, lambda image, kind, _: (
        lambda model, frame, axis, i: denoise(
            frame, sigma, noise=args.noise, peak=args.peak, model=model,
            channel_axis=axis, method=args.method,
            data_range=args.data_range, tile_size=args.tile_size)))


def run_super_resolve(args):
    return _restore_command(args, lambda image, kind, _: (
        lambda model, frame, axis, i: super_resolve(
            frame, args.factor, kernel=args.kernel, model=model,
            channel_axis=axis, data_range=args.data_range,
            tile_size=args.tile_size)))


def _read_psf(path):
    """The point-spread function in ``path`` (a .npy array, or an image
    whose colour channels are averaged), normalised to sum to 1."""
    try:
        if str(path).lower().endswith(".npy"):
            psf = np.load(path, allow_pickle=False)
        else:
            psf = to_float(read_image(path))
            psf = psf.mean(axis=2) if psf.ndim == 3 else psf
        psf = np.asarray(psf, dtype=np.float64)
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"--psf {path}: {exc}") from None
    if psf.ndim != 2 or not np.all(np.isfinite(psf)) or psf.min() < 0 \
            or psf.sum() <= 0:
        raise UsageError(
            f"--psf {path} must hold one 2-D array of finite, non-negative "
            f"values with a positive sum, got shape {psf.shape}")
    return psf / psf.sum()


def run_deblur(args):
    psf = _read_psf(args.psf)
    per_unit = 255.0 if args.data_range is None else 1.0
    sigma = None if args.sigma is None else args.sigma / per_unit
    if sigma is None and _source_info(args.input)["format"] == "JPEG":
        warnings.warn(
            f"{args.input} is a JPEG and no --sigma was given: compression "
            "removes the fine noise the estimate reads, and deblurring "
            "amplifies the noise it misses (on calibration crops with 0.5 "
            "to 2% noise saved at JPEG quality 85, 8 to 11 dB worse than "
            "the blurred image). Give the noise before compression with "
            "--sigma (on the 0-255 scale).", UserWarning, stacklevel=2)
    return _restore_command(args, lambda image, kind, _: (
        lambda model, frame, axis, i: deconvolve(
            frame, psf, sigma, model=model, channel_axis=axis,
            data_range=args.data_range, tile_size=args.tile_size)))


def run_inpaint(args):
    mask = read_image(args.mask)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    mask = mask > 0

    def restore(model, frame, axis, i):
        out, weight = inpaint(frame, mask, model=model, channel_axis=axis,
                              data_range=args.data_range,
                              tile_size=args.tile_size,
                              return_prior_weight=True)
        what = ("first level" if isinstance(
            model, NoiseConditionalFieldsOfExperts) else "prior weight")
        print(f"inpaint: {what} chosen " + ", ".join(
            f"{w:g}" for w in np.atleast_1d(weight)) + (
            " (luminance, red-green, yellow-blue)" if np.size(weight) == 3
            else "") + "; 0 is the biharmonic fill", file=sys.stderr)
        return out

    return _restore_command(args, lambda image, kind, _: restore)


def run_train(args):
    images = []
    for path in args.images:
        im = check_unit_range(to_float(read_image(path)), str(path))
        if im.ndim == 3:  # luminance (ITU-R 709)
            im = im[..., :3] @ np.array([0.2125, 0.7154, 0.0721])
        images.append(im)
    X = extract_patches(images, args.patch_size, max_patches=args.n_patches,
                        random_state=args.seed)
    _log(f"train: {len(X)} patches of {args.patch_size}x{args.patch_size} "
         f"from {len(images)} images; fitting ...")
    start = time.perf_counter()
    model = FieldsOfExperts(reg_lambda=args.reg_lambda, max_iter=args.max_iter,
                            random_state=args.seed).fit(X.astype(np.float32))
    _log(f"fitted in {model.n_iter_} iterations", start)
    if args.calibrate:
        # prior weight and scale for denoising, chosen on centre crops of the
        # training images
        start = time.perf_counter()
        _log("calibrating the denoising prior weight and scale ...")
        crops = []
        for im in images[:4]:
            top, left = (max(0, (s - 128) // 2) for s in im.shape)
            crops.append(im[top:top + 128, left:left + 128])
        show = (args.progress if args.progress is not None
                else sys.stderr.isatty())
        with _progress.reporting("calibrating", enabled=show):
            model.calibrate_denoising(crops, random_state=args.seed)
        _log("calibrated", start)
    written = save_model(model, args.output)
    _log(f"wrote {written}")
    return 0
