"""The ``sksm`` command."""

import argparse
import difflib
import sys
import warnings

from . import __version__
from ._commands import (
    UsageError,
    run_deblur,
    run_denoise,
    run_inpaint,
    run_super_resolve,
    run_train,
    task,
)
from ._demo import demo as _demo
from ._image_files import DEFAULT_QUALITY
from .restoration._policy import NOISE_CONDITIONAL_TASKS

__all__ = ["build_parser", "main"]


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
        ``deblur``, ``super-resolve``, ``inpaint``, ``train`` and ``demo``.
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
        if task(name) in NOISE_CONDITIONAL_TASKS:
            model_help = ("a FieldsOfExperts .npz from 'sksm train' or a "
                          "saved NoiseConditionalFieldsOfExperts (default: "
                          "the pretrained noise-conditional prior)")
        p.add_argument("--model", metavar="MODEL.npz", help=model_help)
        p.add_argument("--data-range", type=float, default=None,
                       metavar="WHITE",
                       help="white level of a float image not on the [0, 1] "
                            "scale, e.g. 255 (default: 1 for float images, "
                            "the dtype's maximum for 8 and 16 bit ones)")
        p.add_argument("--tile-size", type=int, metavar="PIXELS",
                       default=(512 if name in ("deblur", "super-resolve")
                                else 256),
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

    p = restoring("denoise", "remove additive Gaussian noise",
                  run_denoise)
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
    p = restoring("deblur", "remove a known blur", run_deblur)
    p.add_argument("--psf", required=True, metavar="PSF",
                   help="the point-spread function: an image file or a .npy "
                        "array, centred on its middle pixel, normalised to "
                        "sum to 1 (required)")
    p.add_argument("--sigma", type=float, default=None,
                   help="noise standard deviation on the 0-255 scale (on the "
                        "image's scale with --data-range) (default: "
                        "estimated from the image)")
    p = restoring("super-resolve", "upscale an image shrunk by block means "
                                   "or another kernel", run_super_resolve)
    p.add_argument("--factor", type=int, default=2,
                   help="upscaling factor, an integer >= 2")
    p.add_argument("--kernel", choices=["box", "bicubic", "gaussian"],
                   default="box",
                   help="how the image was shrunk: block means (box), "
                        "Pillow's bicubic resize, or scikit-image's "
                        "anti-aliased rescale (gaussian)")
    restoring("inpaint", "fill missing pixels", run_inpaint)

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
    p.set_defaults(func=run_train)
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
        except (UsageError, ValueError, TypeError, OSError) as exc:
            print(f"{prefix} error: {_one_line(exc)}", file=sys.stderr)
            return 2


def _one_line(message):
    return " ".join(str(message).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
