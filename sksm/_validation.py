"""Checks of arguments and of fitted state, at the bottom of the package.

Every module checks its inputs with these functions, so one kind of input
gets one message wherever it enters; nothing here imports from the rest of
sksm.  Each check returns the value in the form the numerics want, or raises
a ``TypeError`` (wrong kind of value) or a ``ValueError`` (right kind, wrong
value) that names what was received and what to pass instead.
"""

import functools
import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from types import MethodType

import numpy as np
from sklearn.utils._param_validation import Interval as _SklearnInterval
from sklearn.utils.validation import _check_sample_weight, validate_data

__all__ = ["Fitted", "Interval", "available_if", "check_count",
           "check_fit_range", "check_fit_weights", "check_image",
           "check_image_rows",
           "check_image_shape", "check_image_shape_form", "check_mask",
           "check_not_bool", "check_positive", "check_sigma", "holds_bool",
           "partial_fit_refusal",
           "renamed_argument", "validate_float_data"]


# ---------------------------------------------------------------------- #
# Numbers are not booleans
# ---------------------------------------------------------------------- #
class Interval(_SklearnInterval):
    """scikit-learn's ``Interval`` constraint, without the booleans.

    ``True`` is a ``numbers.Integral`` and a ``numbers.Real``, so
    scikit-learn's intervals take it for 1 (``noise=True`` would train at
    noise 1.0); every numeric parameter of sksm is declared with this one,
    which refuses ``bool`` and ``numpy.bool_``.
    """

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and \
            super().is_satisfied_by(val)


def holds_bool(value):
    """Whether ``value`` is a boolean, or a list, tuple or array holding one
    (``np.asarray([0.1, True], dtype=float)`` would hide it)."""
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype == bool or (value.dtype == object and any(
            holds_bool(v) for v in value.flat))
    if isinstance(value, (list, tuple)):
        return any(holds_bool(v) for v in value)
    return False


def check_not_bool(value, name, meaning="a number"):
    """Return ``value``, or raise ``TypeError`` if it is or holds a boolean.

    For the numbers whose range another check sets (scikit-learn's, or one
    of several kinds): ``True`` is not 1 anywhere in sksm.
    """
    if holds_bool(value):
        raise TypeError(f"{name} must be {meaning}, got "
                        f"{type(value).__name__} {value!r} (a boolean is not "
                        "a number here).")
    return value


def check_count(value, name, minimum=1):
    """Return ``value`` as an int of at least ``minimum``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (booleans are refused).
    ValueError
        If it is below ``minimum``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got "
                        f"{type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def check_bool(value, name):
    """Return ``value`` as a bool, or raise ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got "
                        f"{type(value).__name__} {value!r}.")
    return bool(value)


def validate_float_data(estimator, X, **kwargs):
    """scikit-learn's ``validate_data`` for float32 or float64 samples.

    Its quick finiteness test sums ``X``, which overflows (with a
    RuntimeWarning) for finite values near the float maximum before its
    exact test accepts them; that sum is silenced here.  ``kwargs`` go to
    ``validate_data`` (``reset``, ``ensure_min_samples``...).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return validate_data(estimator, X, dtype=[np.float64, np.float32],
                             **kwargs)


def check_fit_weights(sample_weight, X, name):
    """The rows of ``X`` that a fit weighted by ``sample_weight`` uses.

    ``sample_weight`` is checked as scikit-learn checks it (one finite,
    non-negative number per row, not all zero); rows of weight 0 are
    dropped.  ``name`` names the estimator in the message.

    Returns
    -------
    X : ndarray
        The rows of positive weight (``X`` itself if all are).
    weights : ndarray of shape (n_rows,) or None
        Their weights in float64; None when they are all equal (or
        ``sample_weight`` is None): the same weighted means as none.

    Raises
    ------
    ValueError
        For weights of the wrong shape, negative, NaN or infinite, all
        zero, or positive on fewer than 2 rows.
    """
    if sample_weight is None:
        return X, None
    weights = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                   ensure_non_negative=True)
    keep = weights > 0
    if np.count_nonzero(keep) < 2:
        raise ValueError(
            f"sample_weight gives a positive weight to "
            f"{np.count_nonzero(keep)} row(s) of X; {name} needs at least 2 "
            "rows of positive weight (rows of weight 0 are left out of the "
            "fit).")
    if not keep.all():
        X, weights = X[keep], weights[keep]
    return X, (None if np.all(weights == weights[0]) else weights)


def check_fit_range(X, model):
    """Refuse training data whose squares overflow the working dtype.

    Fitting sums squares of the values (the Gaussian units of an RBM, the
    mean and the centred responses of a Product of Experts); beyond the
    square root of the float maximum, divided by the number of features,
    those sums overflow.  ``model`` names the estimator in the message.
    """
    limit = np.sqrt(np.finfo(X.dtype).max / (16 * max(X.shape[1], 1)))
    largest = float(np.max(np.abs(X))) if X.size else 0.0
    if largest > limit:
        raise ValueError(
            f"X holds values up to {largest:.3g} in {X.dtype}, whose squares "
            f"overflow the sums of fitting a {model} (values must stay below "
            f"{limit:.3g}): standardise X first, for example with "
            "sklearn.preprocessing.StandardScaler.")
    return X


def check_positive(value, name, meaning="", *, allow_zero=False):
    """Return ``value`` as a float, or raise a clear error.

    ``meaning``, if given, is added to the message (what the number is);
    ``allow_zero`` accepts 0 too.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (booleans are refused).
    ValueError
        If it is not finite, or not positive.
    """
    what = f" ({meaning})" if meaning else ""
    sign = "non-negative" if allow_zero else "positive"
    if (isinstance(value, (bool, np.bool_))
            or not isinstance(value, (Real, np.floating, np.integer))):
        raise TypeError(f"{name} must be a {sign} real number{what}, got "
                        f"{type(value).__name__} {value!r}.")
    if not (np.isfinite(value) and (value > 0 or allow_zero and value == 0)):
        raise ValueError(f"{name} must be a {sign} finite number{what}, got "
                         f"{value!r}.")
    return float(value)


def check_sigma(sigma, name="sigma"):
    """Return a noise standard deviation as a float, or raise a clear error.

    Its square must be a normal positive float: the posterior divides by it.
    """
    value = check_positive(sigma, name,
                           "the standard deviation of the noise, in the units "
                           "of the data")
    if not 1e-150 <= value <= 1e150:
        raise ValueError(f"{name}={value!r} is out of range: its square "
                         "must be a normal float (sigma between 1e-150 and "
                         "1e150); for data with no noise, use the data "
                         "themselves.")
    return value


def renamed_argument(value, old_value, name, old_name):
    """The value of an argument that was renamed ``old_name`` -> ``name``.

    ``old_value`` is the string "deprecated" unless the caller used the old
    spelling, which then warns (FutureWarning, at the caller's caller) and
    gives the value; both spellings at once are a TypeError.
    """
    if isinstance(old_value, str) and old_value == "deprecated":
        return value
    if value is not None:
        raise TypeError(f"Pass {name} only; {old_name} is its old spelling.")
    warnings.warn(f"{old_name} was renamed {name} in sksm 0.2 and will be "
                  f"removed in 0.3; pass {name}.", FutureWarning,
                  stacklevel=3)
    return old_value


def check_image_shape_form(image_shape):
    """``(height, width)``, two positive ints, or raise ``ValueError``."""
    if (not isinstance(image_shape, (tuple, list)) or len(image_shape) != 2
            or not all(isinstance(v, Integral)
                       and not isinstance(v, (bool, np.bool_)) and v > 0
                       for v in image_shape)):
        raise ValueError(f"image_shape must be (height, width), two positive "
                         f"integers (grayscale images), got "
                         f"{image_shape!r}; for colour, fit on one "
                         "channel or on the luminance.")
    return int(image_shape[0]), int(image_shape[1])


def check_image_shape(image_shape, n_features):
    """``(height, width)`` of rows of ``n_features`` pixels, or raise.

    None: square if ``n_features`` is a perfect square, else one row.
    """
    if image_shape is None:
        side = int(round(np.sqrt(n_features)))
        return (side, side) if side * side == n_features else (1, n_features)
    height, width = check_image_shape_form(image_shape)
    if height * width != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)} has {height * width} pixels but "
            f"X has {n_features} features per row.")
    return int(height), int(width)


def check_image_rows(X, image_shape, model):
    """Refuse rows of ``X`` that are not images of ``image_shape``.

    For a Field of Experts (``model``, its class name), whose ``score``,
    ``score_samples`` and ``transform`` take images of the one shape it was
    fitted on as rows of pixels: the message says which images, guesses
    the size of the rows given, and says how to use other sizes.  Only the
    number of columns is checked here (``validate_data`` does the rest).
    """
    shape = getattr(X, "shape", None)  # arrays, frames, sparse, Dask
    if shape is None and isinstance(X, (list, tuple)):
        try:
            shape = np.shape(X)
        except ValueError:  # ragged rows: validate_data says so
            return
    height, width = image_shape
    if shape is None or len(shape) != 2 or shape[1] == height * width:
        return
    side = int(round(np.sqrt(shape[1])))
    guess = (f", not of {side}x{side} as these rows would be"
             if side * side == shape[1] else "")
    raise ValueError(
        f"X has {shape[1]} features, but {model} is expecting "
        f"{height * width} features as input: images of {height}x{width} as "
        f"rows of pixels (image_shape_=({height}, {width})){guess}.  Its "
        "log-likelihood depends on the image size (log Z is estimated for "
        "one size), and so do the positions of the features of transform.  "
        "For images of another size, take a copy of the model for them, "
        "model.with_image_shape((height, width)), whose score estimates log "
        f"Z for that size; or cut {height}x{width} patches with "
        "sksm.image.extract_patches.  energy, grad_log_density and the "
        "restoration methods take images of any size.")


def check_mask(mask, shape, meaning="True where the chains move",
               other="the samples"):
    """Return ``mask`` as a boolean array of ``shape``, or raise a clear error.

    Integer masks of zeros and ones are accepted as booleans.  ``meaning``
    and ``other`` (what the mask must match) go into the messages.
    """
    mask = np.asarray(mask)
    if mask.dtype != bool:
        if mask.dtype.kind in "ui" and np.isin(mask, (0, 1)).all():
            mask = mask.astype(bool)
        else:
            raise TypeError(f"mask must be boolean ({meaning}), got dtype "
                            f"{mask.dtype}.")
    if mask.shape != tuple(shape):
        raise ValueError(f"mask has shape {mask.shape} but {other} have "
                         f"shape {tuple(shape)}.")
    return mask


def check_image(image, name="image", ndim=(2,), finite=True):
    """Validate an image array: real numbers, finite, of an allowed ``ndim``.

    Parameters
    ----------
    image : array-like
        The image.
    name : str, default="image"
        What the image is called in the messages.
    ndim : tuple of int, default=(2,)
        The numbers of dimensions allowed: 2 for (height, width), 3 for
        (n, height, width) or a channel axis.
    finite : bool, default=True
        False leaves out the scan for NaN and infinity, for a caller that
        hands the pixels on to a check that makes it.

    Returns
    -------
    image : ndarray
        ``np.asarray(image)``, not copied.

    Raises
    ------
    TypeError
        For a sparse matrix, or an array that does not hold real numbers.
    ValueError
        For a number of dimensions not in ``ndim``, an empty array, or
        NaN or infinite pixels.
    """
    if hasattr(image, "toarray") or hasattr(image, "tocsr"):
        raise TypeError(f"{name} must be a dense array, got a sparse "
                        f"{type(image).__name__}; use .toarray().")
    arr = np.asarray(image)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise TypeError(f"{name} must hold real numbers, got dtype "
                        f"{arr.dtype}.")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}.")
    if arr.ndim not in ndim:
        shapes = " or ".join({2: "(height, width)", 3: "(n, height, width)"}[d]
                             for d in ndim)
        raise ValueError(f"{name} must have shape {shapes}, got an array of "
                         f"shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}).")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


# ---------------------------------------------------------------------- #
# Methods that exist only for some settings
# ---------------------------------------------------------------------- #
class _Conditional:
    """A method that exists only when ``why_not(obj)`` is None.

    As scikit-learn's ``available_if``, ``hasattr`` is False otherwise; but
    the ``AttributeError`` of a call carries the reason in its own message
    (scikit-learn's says only "has no attribute" and hides the reason in
    the chained cause).
    """

    def __init__(self, fn, why_not):
        self.fn, self.why_not = fn, why_not
        functools.update_wrapper(self, fn)

    def _check(self, obj, owner):
        reason = self.why_not(obj)
        if reason is not None:
            raise AttributeError(
                f"This {(owner or type(obj)).__name__!r} has no attribute "
                f"{self.fn.__name__!r}: {reason}", name=self.fn.__name__,
                obj=obj)

    def __get__(self, obj, owner=None):
        if obj is not None:
            self._check(obj, owner)
            return MethodType(self.fn, obj)

        # on the class: the function, checked when called on an instance
        @functools.wraps(self.fn)
        def method(instance, *args, **kwargs):
            self._check(instance, owner)
            return self.fn(instance, *args, **kwargs)

        return method


def available_if(why_not):
    """Decorate a method that exists only when ``why_not(self)`` is None.

    ``why_not`` returns None where the method is available, else a sentence
    saying why it is not and what to set instead, which becomes the message
    of the ``AttributeError`` (``hasattr`` is False there, as with
    scikit-learn's ``available_if``).
    """
    return lambda fn: _Conditional(fn, why_not)


# ---------------------------------------------------------------------- #
# Fitted state
# ---------------------------------------------------------------------- #
class SavedModel:
    """A model :mod:`sksm.io` saves and loads: its class declares its fitted
    state as ``_fitted_attributes`` (:class:`Fitted`) and checks it with
    ``__sksm_check_fitted__``.  io finds the public subclasses."""

    _fitted_attributes = {}

    def __sksm_check_fitted__(self):
        """Raise ValueError if fitted values disagree with each other."""


@dataclass(frozen=True)
class Fitted:
    """What one fitted attribute of an estimator holds.

    Estimators declare their fitted state as a class attribute
    ``_fitted_attributes = {name: Fitted(...)}``; :mod:`sksm.io` saves and
    loads any estimator from it and from its constructor parameters, and
    checks a file against it before reading any array.

    Parameters
    ----------
    kind : {'array', 'curve', 'size', 'count', 'real', 'positive', 'shape', \
'names'}
        'array': finite floats of ``shape``; 'curve': a list of finite
        floats (stored as a 1-D array); 'size': an int >= 1; 'count': an
        int >= 0; 'real': a finite float; 'positive': a finite float > 0;
        'shape': a tuple of sizes; 'names': a list of strings (feature
        names, one per input feature).
    shape : tuple of str or int, default=()
        For arrays: each dimension is a number, the name of a constructor
        parameter or a fitted 'size', or any other name, which takes its
        length from the first array that uses it.
    positive : bool, default=False
        Arrays only: every entry must be > 0.
    optional : bool, default=False
        A fitted estimator may lack it.
    """

    kind: str
    shape: tuple = ()
    positive: bool = False
    optional: bool = False


def check_fitted_value(spec, value, name):
    """Return a fitted scalar of ``spec`` in its Python form, or raise.

    ``value`` comes from JSON (ints, floats, strings, lists, None).

    Raises
    ------
    TypeError, ValueError
        Naming the attribute, the value and what it should be.
    """
    def number(v):
        return isinstance(v, (Real, np.floating, np.integer)) and not \
            isinstance(v, (bool, np.bool_))

    kind = spec.kind
    if kind in ("size", "count"):
        return check_count(value, name, minimum=1 if kind == "size" else 0)
    if kind in ("real", "positive"):
        if not number(value) or not np.isfinite(value) or (
                kind == "positive" and value <= 0):
            what = "positive finite" if kind == "positive" else "finite"
            raise ValueError(f"{name} must be a {what} number, got "
                             f"{value!r}.")
        return float(value)
    if kind == "shape":
        if not isinstance(value, (list, tuple)) or not value:
            raise TypeError(f"{name} must be a tuple of sizes, got {value!r}.")
        return tuple(check_count(v, name) for v in value)
    if kind == "names":
        if not isinstance(value, (list, tuple)) or not all(
                isinstance(v, str) for v in value):
            raise TypeError(f"{name} must be a list of strings, got "
                            f"{type(value).__name__}.")
        return np.asarray(value, dtype=object)
    raise ValueError(f"{name} of kind {kind!r} is not a scalar.")


def partial_fit_refusal(name, solver, resolved, objective):
    """The message of the ``AttributeError`` of ``partial_fit`` when the
    solver (``solver``, resolved to ``resolved`` for ``objective``) is not
    Adam."""
    got = f"solver={solver!r}" + (
        f", which is {resolved!r} for objective={objective!r}"
        if resolved != solver else "")
    return (f"partial_fit needs solver='adam' (one epoch of Adam over each "
            f"minibatch); got {got}, a solver over all the data at once.  "
            f"Set solver='adam' ({name}(solver='adam', ...) or "
            f"set_params(solver='adam')) to train on minibatches, or call "
            f"fit on all the data.")
