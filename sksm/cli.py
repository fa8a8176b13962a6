"""The ``sksm`` command."""

import argparse
import sys
import time

__all__ = ["main"]


def _demo(args):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import RegularizedScoreMatchingPoE
    from .datasets import few_labels, load_digits_pixels

    start = time.perf_counter()
    X, y = load_digits_pixels()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=args.seed)
    print("sksm demo: a Product of Student-t experts fitted by regularized "
          "score matching\non scikit-learn's 8x8 digits "
          f"({len(X_train)} train / {len(X_test)} test, pixels in [0, 1]).\n")

    lambdas = [0.0, 1e-3, 1e-2, 3e-2, 1e-1]
    # alpha = 1 (learn_weights=False): the digits' blank border pixels make
    # learned weights, and with them the likelihood, run away as lambda -> 0.
    search = GridSearchCV(
        RegularizedScoreMatchingPoE(learn_weights=False, max_iter=1000,
                                    tol=1e-5, random_state=args.seed),
        {"reg_lambda": lambdas}, cv=3, n_jobs=args.n_jobs)
    search.fit(X_train)
    print("reg_lambda chosen by GridSearchCV on held-out log-likelihood "
          "(3-fold, nats per digit):")
    print(f"  {'reg_lambda':>10}  {'log-likelihood':>14}")
    for lam, score in zip(lambdas, search.cv_results_["mean_test_score"]):
        mark = "  <- best" if lam == search.best_params_["reg_lambda"] else ""
        print(f"  {lam:>10g}  {score:>14.1f}{mark}")
    best = search.best_estimator_
    print(f"  test-set log-likelihood at the best lambda: "
          f"{best.score(X_test):.1f} nats per digit\n")

    labelled = few_labels(y_train, args.labels_per_class, args.seed)
    classifier = make_pipeline(StandardScaler(),
                               LogisticRegression(max_iter=2000))
    raw = classifier.fit(X_train[labelled], y_train[labelled]).score(
        X_test, y_test)
    F_train, F_test = best.transform(X_train), best.transform(X_test)
    act = classifier.fit(F_train[labelled], y_train[labelled]).score(
        F_test, y_test)
    print(f"Logistic regression with {args.labels_per_class} labelled digits "
          "per class, test accuracy:")
    print(f"  raw pixels:          {raw:.3f}")
    print(f"  expert activations:  {act:.3f}  (the model's features, "
          f"reg_lambda={best.reg_lambda:g})")
    print(f"\nDone in {time.perf_counter() - start:.1f} s.")
    return 0


class _UsageError(Exception):
    """An error the user can fix: one line on stderr, exit code 2."""


def _log(message, start=None):
    if start is not None:
        message += f" ({time.perf_counter() - start:.1f} s)"
    print(message, file=sys.stderr, flush=True)


def _load(args):
    from .io import load_model

    if args.model is None:
        raise _UsageError(
            "no pretrained model ships with this version of sksm yet: train "
            "one with 'sksm train IMAGES... -o model.npz' and pass "
            "--model model.npz")
    try:
        model = load_model(args.model)
    except FileNotFoundError:
        raise _UsageError(f"{args.model}: no such file") from None
    if type(model).__name__ != "FieldsOfExperts":
        raise _UsageError(f"{args.model} holds a {type(model).__name__}, "
                          "not a FieldsOfExperts image prior")
    return model


def _per_channel(image, restore):
    """Apply ``restore`` to a grayscale image or to each colour channel."""
    import numpy as np

    if image.ndim == 2:
        return restore(image)
    return np.stack([restore(image[..., k]) for k in range(image.shape[2])],
                    axis=-1)


def _restore_command(args, restore):
    from .image import read_image, write_image

    model = _load(args)
    image = read_image(args.input)
    start = time.perf_counter()
    _log(f"{args.command}: {args.input} {image.shape} {image.dtype} ...")
    result = _per_channel(image, lambda channel: restore(model, channel))
    write_image(args.output, result)
    _log(f"wrote {args.output}", start)
    return 0


def _denoise(args):
    if not args.sigma > 0:
        raise _UsageError(f"--sigma must be positive, got {args.sigma}")
    return _restore_command(args, lambda model, channel: model.denoise(
        channel, args.sigma / 255.0, method=args.method))


def _super_resolve(args):
    return _restore_command(args, lambda model, channel:
                            model.super_resolve(channel, args.factor))


def _inpaint(args):
    from .image import read_image

    mask = read_image(args.mask)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    mask = mask > 0
    return _restore_command(args, lambda model, channel:
                            model.inpaint(channel, mask))


def _train(args):
    import numpy as np

    from . import FieldsOfExperts
    from .image import extract_patches, read_image, to_float
    from .io import save_model

    images = []
    for path in args.images:
        im = to_float(read_image(path))
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
    save_model(model, args.output)
    _log(f"wrote {args.output}")
    return 0


def main(argv=None):
    """Run the ``sksm`` command; return its exit code."""
    parser = argparse.ArgumentParser(
        prog="sksm",
        description="Energy-based models of images learned by score matching.")
    sub = parser.add_subparsers(dest="command", required=True)

    def restoring(name, help_text, func):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("input", help="image file (PNG, JPEG, TIFF; 8 or 16 "
                                     "bit; colour is restored per channel)")
        if name == "inpaint":
            p.add_argument("mask", help="image file, nonzero where pixels are "
                                        "missing")
        p.add_argument("output", help="where to write the result")
        p.add_argument("--model", help="a FieldsOfExperts .npz from "
                                        "'sksm train'")
        p.set_defaults(func=func)
        return p

    p = restoring("denoise", "remove additive Gaussian noise", _denoise)
    p.add_argument("--sigma", type=float, required=True,
                   help="noise standard deviation on the 0-255 scale")
    p.add_argument("--method", choices=["lbfgs", "paper"], default="lbfgs")
    p = restoring("super-resolve", "upscale an image of block means",
                  _super_resolve)
    p.add_argument("--factor", type=int, default=2)
    restoring("inpaint", "fill missing pixels", _inpaint)

    p = sub.add_parser("train", help="train a Fields of Experts prior")
    p.add_argument("images", nargs="+", help="training image files")
    p.add_argument("-o", "--output", required=True, help="model .npz to write")
    p.add_argument("--patch-size", type=int, default=36)
    p.add_argument("--n-patches", type=int, default=2000)
    p.add_argument("--reg-lambda", type=float, default=1e-4)
    p.add_argument("--max-iter", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_train)
    demo = sub.add_parser(
        "demo", help="fit a PoE on the bundled digits, choose lambda by "
                     "cross-validated likelihood, compare features")
    demo.add_argument("--labels-per-class", type=int, default=20,
                      help="labelled digits per class for the classifier "
                           "(default: 20)")
    demo.add_argument("--n-jobs", type=int, default=2,
                      help="parallel jobs for GridSearchCV (default: 2)")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (_UsageError, ValueError, TypeError) as exc:
        print(f"sksm {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
