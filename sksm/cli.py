"""The ``sksm`` command."""

import argparse
import difflib
import sys
import time
import warnings

import numpy as np

from . import __version__, _progress
from ._demo import demo as _demo
from ._image_files import DEFAULT_QUALITY
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

__all__ = ["build_parser", "main"]


class _UsageError(Exception):
    """An error the user can fix: one line on stderr, exit code 2."""


def _log(message, start=None):
    if start is not None:
        message += f" ({time.perf_counter() - start:.1f} s)"
    print(message, file=sys.stderr, flush=True)


#: The commands whose function in sksm.restoration has another name.
_TASKS = {"deblur": "deconvolve"}


def _task(command):
    """The name of the function of sksm.restoration behind ``command``."""
    return _TASKS.get(command, command.replace("-", "_"))


def _load(args):
    conditional = _task(args.command) in NOISE_CONDITIONAL_TASKS
    if args.model is None:
        return (load_pretrained_ncfoe() if conditional
                else load_pretrained_foe())
    model = load_model(args.model)
    kinds = ((FieldsOfExperts, NoiseConditionalFieldsOfExperts) if conditional
             else (FieldsOfExperts,))
    if not isinstance(model, kinds):
        wanted = ("a FieldsOfExperts or NoiseConditionalFieldsOfExperts"
                  if conditional else "a FieldsOfExperts")
        raise _UsageError(f"{args.model} holds a {type(model).__name__}, "
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
        raise _UsageError(
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
        raise _UsageError(f"{args.input}: the image seems to hold no noise "
                          "(estimated sigma 0); give its level with --sigma.")
    scale = ("on the 0-255 scale" if args.data_range is None
             else f"on the image's scale, white = {args.data_range:g}")
    values = (f"{sigmas[0]:.3g}" if len(sigmas) == 1 else
              f"{min(sigmas):.3g} to {max(sigmas):.3g} over the "
              f"{len(sigmas)} frames")
    _log(f"{args.command}: estimated noise level --sigma {values} ({scale}); "
         "give --sigma to set it")
    return sigmas


def _denoise(args):
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
        raise _UsageError(f"--noise {args.noise} needs --peak, the photon "
                          "count of white")
    if (args.sigma is None) != (args.noise == "poisson"):
        raise _UsageError(
            "--noise poisson takes no --sigma" if args.noise == "poisson"
            else "--noise poisson-gaussian needs --sigma, the Gaussian part")
    per_unit = 255.0 if args.data_range is None else 1.0
    sigma = None if args.sigma is None else args.sigma / per_unit
    return _restore_command(args, lambda image, kind, _: (
        lambda model, frame, axis, i: denoise(
            frame, sigma, noise=args.noise, peak=args.peak, model=model,
            channel_axis=axis, method=args.method,
            data_range=args.data_range, tile_size=args.tile_size)))


def _super_resolve(args):
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
        raise _UsageError(f"--psf {path}: {exc}") from None
    if psf.ndim != 2 or not np.all(np.isfinite(psf)) or psf.min() < 0 \
            or psf.sum() <= 0:
        raise _UsageError(
            f"--psf {path} must hold one 2-D array of finite, non-negative "
            f"values with a positive sum, got shape {psf.shape}")
    return psf / psf.sum()


def _deblur(args):
    psf = _read_psf(args.psf)
    per_unit = 255.0 if args.data_range is None else 1.0
    sigma = None if args.sigma is None else args.sigma / per_unit
    return _restore_command(args, lambda image, kind, _: (
        lambda model, frame, axis, i: deconvolve(
            frame, psf, sigma, model=model, channel_axis=axis,
            data_range=args.data_range, tile_size=args.tile_size)))


def _inpaint(args):
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


def _train(args):
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


class _HelpFormatter(argparse.HelpFormatter):
    """Help that names every option's default.

    An option whose help does not say its default gets " (default: X)",
    as with :class:`argparse.ArgumentDefaultsHelpFormatter`; options whose
    default is not a value (None: estimated, on a terminal, ...) say it in
    their own words.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if (action.option_strings and not action.required
                and action.default not in (None, argparse.SUPPRESS)
                and "default" not in text):
            text += " (default: %(default)s)"
        return text


class _CommandParser(argparse.ArgumentParser):
    """A command's parser, which reports an unknown option with its own
    usage and the closest option (argparse leaves it to the top-level
    parser, whose usage names none of the command's options)."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            options = [option for action in self._actions
                       for option in action.option_strings]
            hints = [f"did you mean {close[0]}?" for close in (
                difflib.get_close_matches(arg.split("=")[0], options, n=1)
                for arg in extras if arg.startswith("-")) if close]
            self.error("unrecognized arguments: " + " ".join(extras)
                       + (f" ({' '.join(hints)})" if hints else ""))
        return namespace, extras


def _quality(text):
    """argparse type of --quality: an integer from 1 to 100."""
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 1 to 100, got {text!r}")
    return int(text)


def build_parser():
    """The argument parser of the ``sksm`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser :func:`main` runs; its sub-commands are ``denoise``,
        ``super-resolve``, ``inpaint``, ``train`` and ``demo``.
    """

    parser = argparse.ArgumentParser(
        prog="sksm", formatter_class=_HelpFormatter,
        description="Energy-based models of images learned by score "
                    "matching: restore image files with a Field of Experts "
                    "prior, train one, or run the demo.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {__version__}",
                        help="print the version of sksm and exit")
    sub = parser.add_subparsers(dest="command", required=True,
                                metavar="COMMAND", parser_class=_CommandParser)

    def restoring(name, help_text, func):
        p = sub.add_parser(name, help=help_text,
                           description=help_text.capitalize() + ".",
                           formatter_class=_HelpFormatter)
        p.add_argument("input", help="image file (PNG, JPEG, TIFF, ...; 8 "
                                     "or 16 bit or float; colour is restored "
                                     "per channel; every frame of a "
                                     "multi-frame file)")
        if name == "inpaint":
            p.add_argument("mask", help="image file, nonzero where pixels are "
                                        "missing")
        p.add_argument("output", help="where to write the result (the format "
                                      "follows the extension; the input's "
                                      "colour profile and EXIF data are "
                                      "kept where the format holds them)")
        model_help = ("a FieldsOfExperts .npz from 'sksm train' (default: "
                      "the pretrained prior)")
        if _task(name) in NOISE_CONDITIONAL_TASKS:
            model_help = ("a FieldsOfExperts .npz from 'sksm train' or a "
                          "saved NoiseConditionalFieldsOfExperts (default: "
                          "the pretrained noise-conditional prior)")
        p.add_argument("--model", metavar="MODEL.npz", help=model_help)
        p.add_argument("--data-range", type=float, default=None,
                       metavar="WHITE",
                       help="white level of a float image not on the [0, 1] "
                            "scale, e.g. 255 (default: 1 for float images, "
                            "the dtype's maximum for 8 and 16 bit ones)")
        p.add_argument("--tile-size", type=int, default=256, metavar="PIXELS",
                       help="largest side of the tiles the image is restored "
                            "in; memory grows with it")
        p.add_argument("--quality", type=_quality, default=None,
                       metavar="1-100",
                       help="quality of a JPEG or WebP output (default: a "
                            "JPEG input's own, else "
                            f"{DEFAULT_QUALITY})")
        p.add_argument("--overwrite", action="store_true",
                       help="allow the output to replace the input file "
                            "(default: refuse)")
        p.add_argument("--progress", action=argparse.BooleanOptionalAction,
                       default=None,
                       help="show a progress bar (default: when stderr is a "
                            "terminal)")
        p.set_defaults(func=func)
        return p

    p = restoring("denoise", "remove additive Gaussian noise", _denoise)
    p.add_argument("--sigma", type=float, default=None,
                   help="noise standard deviation on the 0-255 scale (on the "
                        "image's scale with --data-range) (default: "
                        "estimated from the image)")
    p.add_argument("--method", choices=["annealed", "tweedie", "fista",
                                        "lbfgs", "paper", "mmse"],
                   default=None,
                   help="the noise-conditional prior's annealed steps "
                        "(default) or one Tweedie step; with a "
                        "FieldsOfExperts --model, accelerated proximal "
                        "gradient (its default), L-BFGS, the paper's "
                        "annealed descent or the posterior mean by MALA")
    p.add_argument("--noise", choices=["gaussian", "poisson",
                                       "poisson-gaussian"],
                   default="gaussian",
                   help="the noise model: additive Gaussian, Poisson "
                        "(photon counts, with --peak) or both (with --peak "
                        "and --sigma, the Gaussian part)")
    p.add_argument("--peak", type=float, default=None, metavar="COUNT",
                   help="with --noise poisson or poisson-gaussian, the photon "
                        "count of white (default: none; required there)")
    p.add_argument("--self-ensemble", type=int, choices=[1, 2, 4, 8],
                   default=1, metavar="{1,2,4,8}",
                   help="average the restorations of this many mirrored and "
                        "turned copies (as many times slower, better)")
    p = restoring("deblur", "remove a known blur", _deblur)
    p.add_argument("--psf", required=True, metavar="PSF",
                   help="the point-spread function: an image file or a .npy "
                        "array, centred on its middle pixel, normalised to "
                        "sum to 1 (required)")
    p.add_argument("--sigma", type=float, default=None,
                   help="noise standard deviation on the 0-255 scale (on the "
                        "image's scale with --data-range) (default: "
                        "estimated from the image)")
    p = restoring("super-resolve", "upscale an image shrunk by block means "
                                   "or another kernel", _super_resolve)
    p.add_argument("--factor", type=int, default=2,
                   help="upscaling factor, an integer >= 2")
    p.add_argument("--kernel", choices=["box", "bicubic", "gaussian"],
                   default="box",
                   help="how the image was shrunk: block means (box), "
                        "Pillow's bicubic resize, or scikit-image's "
                        "anti-aliased rescale (gaussian)")
    restoring("inpaint", "fill missing pixels", _inpaint)

    p = sub.add_parser("train", help="train a Fields of Experts prior",
                       description="Train a Fields of Experts prior on "
                                   "patches of grayscale photographs "
                                   "(colour files are read as luminance).",
                       formatter_class=_HelpFormatter)
    p.add_argument("images", nargs="+", help="training image files")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.npz",
                   help="model file to write (required)")
    p.add_argument("--patch-size", type=int, default=36, metavar="PIXELS",
                   help="side of the square training patches")
    p.add_argument("--n-patches", type=int, default=300,
                   help="number of patches cut at random from the images")
    p.add_argument("--reg-lambda", type=float, default=3e-4,
                   help="curvature penalty of regularized score matching "
                        "(FieldsOfExperts(reg_lambda=...))")
    p.add_argument("--max-iter", type=int, default=500,
                   help="largest number of L-BFGS iterations")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed of the patches, the fit and the "
                        "calibration")
    p.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="skip choosing the denoising prior weight and scale "
                        "(about a minute); denoising then uses 1 and 1 "
                        "(default: calibrate)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction,
                   default=None,
                   help="show the calibration's progress (default: when "
                        "stderr is a terminal)")
    p.set_defaults(func=_train)
    demo = sub.add_parser(
        "demo", formatter_class=_HelpFormatter,
        help="fit a PoE on the bundled digits, choose lambda by "
             "cross-validated likelihood, compare features; denoise a "
             "photograph with the pretrained prior",
        description="Fit a Product of Student-t experts on scikit-learn's "
                    "digits, choose reg_lambda by cross-validated "
                    "likelihood, compare its features with raw pixels; "
                    "denoise a photograph with the pretrained prior.")
    demo.add_argument("--labels-per-class", type=int, default=20,
                      help="labelled digits per class for the classifier")
    demo.add_argument("--n-jobs", type=int, default=2,
                      help="parallel jobs for GridSearchCV")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.add_argument("--output-dir", default="sksm-demo", metavar="DIR",
                      help="where to write the denoising demo's images")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Run the ``sksm`` command; return its exit code.

    Errors and warnings are one line each on stderr, ``sksm COMMAND:
    error: ...`` and ``sksm COMMAND: warning: ...``.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after ``sksm``; None reads ``sys.argv[1:]``.

    Returns
    -------
    code : int
        0 on success, 2 for an error the user can fix (a missing file, a
        wrong argument), after one line on stderr.
    """
    args = build_parser().parse_args(argv)
    prefix = f"sksm {args.command}:"
    with warnings.catch_warnings():
        # one line, without the path of the installed file that warned
        warnings.showwarning = lambda message, *_, **__: print(
            f"{prefix} warning: {_one_line(message)}", file=sys.stderr,
            flush=True)
        try:
            return args.func(args)
        except (_UsageError, ValueError, TypeError, OSError) as exc:
            print(f"{prefix} error: {_one_line(exc)}", file=sys.stderr)
            return 2


def _one_line(message):
    return " ".join(str(message).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
