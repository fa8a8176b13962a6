"""The training noise of the objectives that perturb the data (dsm, ssm).

Their setting is ``training_noise``; ``noise_sigma``, its name until 0.2,
is accepted until 0.3 (in sksm, ``sigma`` is the observation noise of
denoising).
"""

import warnings

import numpy as np

from .._validation import check_not_bool

__all__ = ["RENAMED", "noise_levels", "training_noise_setting"]

#: The warning of the former name of ``training_noise``.
RENAMED = ("noise_sigma was renamed training_noise in 0.2 and will be "
           "removed in 0.3")


def training_noise_setting(objective, warn=False):
    """The training noise an objective was given, and under which name.

    Parameters
    ----------
    objective : DenoisingScoreMatching or SlicedScoreMatching
        With the settings ``training_noise`` and ``noise_sigma`` (the
        deprecated name: the string ``'deprecated'`` when not given).
    warn : bool, default=False
        Warn when ``noise_sigma`` was given (when a fit starts).

    Returns
    -------
    name : {'training_noise', 'noise_sigma'}
        The setting given, for the messages.
    value : 'auto', float or sequence of float
        Its value.

    Raises
    ------
    ValueError
        When both ``noise_sigma`` and ``training_noise`` (other than
        'auto') were given.
    """
    old = objective.noise_sigma
    if isinstance(old, str) and old == "deprecated":
        return "training_noise", objective.training_noise
    new = objective.training_noise
    if not (isinstance(new, str) and new == "auto"):
        raise ValueError(
            f"{type(objective).__name__} was given both training_noise="
            f"{new!r} and noise_sigma={old!r}, its former name; set "
            "training_noise only.")
    if warn:
        warnings.warn(f"{type(objective).__name__}: {RENAMED}; set "
                      f"training_noise={old!r} instead.", FutureWarning,
                      stacklevel=2)
    return "noise_sigma", old


def noise_levels(noise, reg_lambda, objective, single=False,
                 name="training_noise"):
    r"""Turn the training noise of an objective into a 1-D array of levels.

    'auto' is :math:`\sqrt{2 \lambda}`, the noise that Kingma & LeCun's
    eq. 6 relates to the curvature penalty ``reg_lambda``.

    Parameters
    ----------
    noise : 'auto', float or sequence of float
        The setting, in the units of the data.
    reg_lambda : float
        The estimator's regularisation strength.
    objective : str
        The objective's name, for the messages.
    single : bool, default=False
        One level, 0 allowed for no noise, which is also what 'auto' gives
        at ``reg_lambda=0`` (sliced score matching).
    name : str, default='training_noise'
        The name of the setting, for the messages.

    Returns
    -------
    levels : ndarray of shape (n_levels,)
        In float64.

    Raises
    ------
    TypeError
        For a boolean, or a sequence holding one.
    ValueError
        For levels that are not finite and positive (or 0 with
        ``single``), several levels with ``single``, or 'auto' at
        ``reg_lambda=0`` without ``single``.
    """
    if isinstance(noise, str):  # "auto"
        if reg_lambda == 0:
            if single:
                return np.zeros(1)
            raise ValueError(
                f"{objective}({name}='auto') uses sqrt(2 * reg_lambda), "
                "which is 0 for reg_lambda=0; set training_noise (the "
                "standard deviation of the training noise) or "
                "reg_lambda > 0.")
        return np.array([np.sqrt(2.0 * reg_lambda)])
    what = ("'auto' or a number >= 0" if single else
            "'auto', a positive number or a non-empty 1-D sequence of "
            "positive numbers")
    check_not_bool(noise, f"{objective}: {name}", what)
    try:
        levels = np.atleast_1d(np.asarray(noise, dtype=np.float64))
    except (TypeError, ValueError):
        levels = np.array([np.nan])
    if (levels.ndim != 1 or levels.size == 0
            or not np.all(np.isfinite(levels))
            or np.any(levels < 0 if single else levels <= 0)):
        raise ValueError(f"{objective}: {name} must be {what}, got "
                         f"{noise!r}.")
    if single and levels.size != 1:
        raise ValueError(
            f"{objective} perturbs the data with one noise level; got "
            f"{name}={noise!r}. Pass one number (or use "
            "DenoisingScoreMatching for several levels).")
    return levels
