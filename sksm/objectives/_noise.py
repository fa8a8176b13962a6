"""The noise levels of the objectives that perturb the data (dsm, ssm)."""

import numpy as np

__all__ = ["noise_levels"]


def noise_levels(noise_sigma, reg_lambda, objective, single=False):
    r"""Turn the ``noise_sigma`` of an objective into a 1-D array of levels.

    'auto' is :math:`\sqrt{2 \lambda}`, the noise that Kingma & LeCun's
    eq. 6 relates to the curvature penalty ``reg_lambda``.

    Parameters
    ----------
    noise_sigma : 'auto', float or sequence of float
        The setting, in the units of the data.
    reg_lambda : float
        The estimator's regularisation strength.
    objective : str
        The objective's name, for the messages.
    single : bool, default=False
        One level, 0 allowed for no noise, which is also what 'auto' gives
        at ``reg_lambda=0`` (sliced score matching).

    Returns
    -------
    levels : ndarray of shape (n_levels,)
        In float64.

    Raises
    ------
    ValueError
        For levels that are not finite and positive (or 0 with
        ``single``), several levels with ``single``, or 'auto' at
        ``reg_lambda=0`` without ``single``.
    """
    if isinstance(noise_sigma, str):  # "auto"
        if reg_lambda == 0:
            if single:
                return np.zeros(1)
            raise ValueError(
                f"{objective}(noise_sigma='auto') uses sqrt(2 * reg_lambda), "
                "which is 0 for reg_lambda=0; set noise_sigma (the standard "
                "deviation of the training noise) or reg_lambda > 0.")
        return np.array([np.sqrt(2.0 * reg_lambda)])
    try:
        levels = np.atleast_1d(np.asarray(noise_sigma, dtype=np.float64))
    except (TypeError, ValueError):
        levels = np.array([np.nan])
    if (levels.ndim != 1 or levels.size == 0
            or not np.all(np.isfinite(levels))
            or np.any(levels < 0 if single else levels <= 0)):
        what = ("'auto' or a number >= 0" if single else
                "'auto', a positive number or a non-empty 1-D sequence of "
                "positive numbers")
        raise ValueError(f"{objective}: noise_sigma must be {what}, got "
                         f"{noise_sigma!r}.")
    if single and levels.size != 1:
        raise ValueError(
            f"{objective} perturbs the data with one noise level; got "
            f"noise_sigma={noise_sigma!r}. Pass one number (or use "
            "DenoisingScoreMatching for several levels).")
    return levels
