"""The scikit-learn checks that an estimator of sksm is expected to fail.

``expected_failed_checks(estimator)`` is the ``expected_failed_checks``
argument of :func:`sklearn.utils.estimator_checks.check_estimator` and
:func:`~sklearn.utils.estimator_checks.parametrize_with_checks`, as the tests
pass it::

    from sklearn.utils.estimator_checks import check_estimator
    from sksm._estimator_checks import expected_failed_checks

    est = FieldsOfExperts()
    check_estimator(est, expected_failed_checks=expected_failed_checks(est))

Only a Field of Experts whose filters span more than one pixel has any:
every other estimator of the package passes every check at every setting
that the tests run.
"""

from .foe import FieldsOfExperts, _reach

__all__ = ["expected_failed_checks"]

#: The checks that fit (or fit and then use) a Field of Experts on the
#: checks' own data: rows of 1 to 10 features, which it reads as images of
#: 1 x n_features pixels (or 2 x 2 for 4 features).
IMAGE_SIZE_CHECKS = (
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_n_iter",
    "check_transformer_preserve_dtypes",
)


def expected_failed_checks(estimator):
    """The checks ``estimator`` fails, each with the reason.

    Parameters
    ----------
    estimator : estimator instance
        Any estimator; those of sksm are looked at, others get ``{}``.

    Returns
    -------
    expected : dict of str to str
        ``{check name: reason}``: for a
        :class:`~sksm.FieldsOfExperts` whose filters see more than one pixel
        (``filter_size > 1`` or ``whiten='laplacian'``, as at its defaults),
        the checks of :data:`IMAGE_SIZE_CHECKS`; empty otherwise.
    """
    if not isinstance(estimator, FieldsOfExperts):
        return {}
    # FieldsOfExperts.reach_, from the parameters (the checks get unfitted
    # estimators)
    margin = _reach(estimator.filter_size, estimator.whiten)
    if margin == 0:
        return {}
    side = margin + 1
    reason = (
        "FieldsOfExperts reads every row of X as an image of image_shape "
        "pixels (default: square, else one row of pixels), and its energy "
        "sums the experts over the positions where a filter fits inside the "
        f"image; the check's rows of 1 to 10 features have no position for "
        f"its {side}x{side} filter support, so fit refuses them with a "
        "ValueError that says so.  tests/test_foe.py passes the same check "
        "with filter_size=1.")
    return {name: reason for name in IMAGE_SIZE_CHECKS}
