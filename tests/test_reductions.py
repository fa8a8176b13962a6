"""Sums and moments that do not depend on how the rows were split."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from sksm import FieldsOfExperts, RegularizedScoreMatchingPoE
from sksm._reductions import (
    ExactSum,
    column_sums,
    exact_moments,
    exact_total,
    finish_variance,
    merge_column_sums,
    squared_deviations,
    two_sum,
)


def test_two_sum_is_error_free():
    a = np.array([1e16, 1.0, 0.1, -3.5e-20])
    b = np.array([1.0, 1e-17, 0.2, 7.0])
    s, e = two_sum(a, b)
    for x, y, hi, lo in zip(a, b, s, e):
        # exact in rationals
        from fractions import Fraction
        assert Fraction(x) + Fraction(y) == Fraction(hi) + Fraction(lo)
        assert hi == x + y


def test_exact_sum_known_answer():
    # 1e16 + 1 - 1e16 is 0 in float64, summed left to right; exactly 1
    total = ExactSum(1)
    for value in (1e16, 1.0, -1e16):
        total.add(np.array([value]))
    assert total.value()[0] == 1.0
    assert exact_total([1e16, 1.0, -1e16]) == 1.0
    assert exact_total([np.inf, 1.0]) == np.inf
    assert np.isnan(exact_total([np.inf, -np.inf]))
    assert exact_total([1e308, 1e308]) == np.inf


finite = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(terms=arrays(np.float64, (12, 5), elements=finite),
       order=st.permutations(range(12)), cut=st.integers(1, 11))
def test_exact_sum_does_not_depend_on_order_or_grouping(terms, order, cut):
    forward = ExactSum()
    for row in terms:
        forward.add(row)
    left, right = ExactSum(), ExactSum()
    for k in order[:cut]:
        left.add(terms[k])
    for k in order[cut:]:
        right.add(terms[k])
    np.testing.assert_array_equal(right.merge(left).value(),
                                  forward.value())


def test_exact_moments_known_answer():
    X = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    n, mean, var, low, high = exact_moments(X, size=2)
    assert n == 3
    np.testing.assert_array_equal(mean, [3.0, 6.0])
    # squared deviations: (4 + 0 + 4) + (16 + 0 + 16) over 6 entries
    assert var == pytest.approx(40 / 6, rel=1e-15)
    np.testing.assert_array_equal(low, [1.0, 2.0])
    np.testing.assert_array_equal(high, [5.0, 10.0])
    # constant data: no division by zero
    n, mean, var, *_ = exact_moments(np.ones((4, 3)), size=3)
    assert var == 0.0 and np.all(mean == 1.0)


@pytest.mark.parametrize("cuts", [[200], [100, 300], [100, 200, 400]])
def test_moments_of_blocks_of_whole_chunks_equal_those_of_all_rows(cuts):
    rng = np.random.RandomState(0)
    X = rng.standard_t(2, size=(500, 7)) * 1e3 + 17
    whole = exact_moments(X, size=100)
    edges = [0, *cuts, 500]
    blocks = [X[a:b] for a, b in itertools.pairwise(edges)]
    n, mean, low, high, big = merge_column_sums(
        [column_sums(b, 100) for b in blocks][::-1])  # any order
    var = finish_variance([squared_deviations(b, mean, big, 100)
                           for b in blocks], n, mean, big)
    assert n == whole[0]
    np.testing.assert_array_equal(mean, whole[1])
    assert var == whole[2]
    np.testing.assert_array_equal(low, whole[3])
    np.testing.assert_array_equal(high, whole[4])
    assert var == pytest.approx(np.mean((X - X.mean(axis=0)) ** 2),
                                rel=1e-12)


def _fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


@pytest.mark.parametrize("objective", ["rsm", "dsm"])
def test_a_fit_is_the_same_to_the_last_bit_with_any_number_of_threads(
        objective):
    rng = np.random.RandomState(1)
    # 196 features: 512-row chunks, and a start (an eigendecomposition of
    # their Gram matrix) that LAPACK splits between threads
    X = rng.standard_t(3, size=(1500, 196)) @ rng.randn(196, 196)
    make = lambda: RegularizedScoreMatchingPoE(
        objective=objective, max_iter=40, random_state=0)
    with threadpool_limits(1):
        one = _fit(make(), X)
    with threadpool_limits(2):
        two = _fit(make(), X)
    assert one.n_iter_ == two.n_iter_
    np.testing.assert_array_equal(one.filters_, two.filters_)
    assert one.loss_curve_ == two.loss_curve_


def test_a_fit_does_not_depend_on_the_memory_layout_of_the_data():
    rng = np.random.RandomState(3)
    X = rng.standard_t(3, size=(4000, 64)) @ rng.randn(64, 64)
    make = lambda: RegularizedScoreMatchingPoE(
        max_iter=30, random_state=0)
    c_order = _fit(make(), X)
    f_order = _fit(make(), np.asfortranarray(X))
    np.testing.assert_array_equal(c_order.filters_, f_order.filters_)
    assert c_order.loss_curve_ == f_order.loss_curve_


def test_a_field_of_experts_fit_is_the_same_with_any_number_of_threads():
    patches = np.random.RandomState(2).rand(1200, 100)  # 10x10, 2 chunks
    make = lambda: FieldsOfExperts(
        n_experts=3, filter_size=3, max_iter=20, random_state=0)
    with threadpool_limits(1):
        one = _fit(make(), patches)
    with threadpool_limits(2):
        two = _fit(make(), patches)
    np.testing.assert_array_equal(one.filters_, two.filters_)
    assert one.mean_brightness_ == two.mean_brightness_
