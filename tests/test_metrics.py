"""Choosing a Field of Experts by denoising PSNR."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_sample_image
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sksm import FieldsOfExperts
from sksm.image import extract_patches
from sksm.metrics import make_denoising_scorer


def test_denoising_scorer_in_grid_search():
    rgb = load_sample_image("flower.jpg").astype(float) / 255
    gray = rgb[150:250, 150:250] @ np.array([0.2125, 0.7154, 0.0721])
    X = extract_patches([gray], 24, max_patches=40, random_state=0)
    scorer = make_denoising_scorer(0.1, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid = GridSearchCV(
            FieldsOfExperts(n_experts=4, max_iter=10, random_state=0),
            {"reg_lambda": [1e-4, 1e-2]}, scoring=scorer, cv=2).fit(X)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    # Denoising must beat the noisy input, whose PSNR is 20 dB at sigma 0.1.
    assert scores.max() > 21
    # The same noise for every candidate: scoring twice gives the same number.
    est = grid.best_estimator_
    assert scorer(est, X[:4]) == scorer(est, X[:4])


def test_scorer_rejects_bad_sigma():
    with pytest.raises(ValueError, match="sigma"):
        make_denoising_scorer(-1)
    with pytest.raises(TypeError, match="sigma"):
        make_denoising_scorer()
