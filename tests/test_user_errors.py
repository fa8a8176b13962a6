"""The faults a user met at the estimators' doors (issue 27): each answered
by a message that says what was received and what to do instead."""

import numpy as np
import pytest

from sksm import FieldsOfExperts, GaussianRBM, RegularizedScoreMatchingPoE

ESTIMATORS = [RegularizedScoreMatchingPoE, FieldsOfExperts, GaussianRBM]


# ---------------------------------------------------------------------- #
# partial_fit at the default solver
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_at_the_default_solver_says_to_set_adam(Estimator):
    est = Estimator()
    assert not hasattr(est, "partial_fit")  # scikit-learn's available_if
    with pytest.raises(AttributeError) as info:
        est.partial_fit(np.zeros((4, 16)))
    message = str(info.value)  # its own message, not a chained cause
    assert "has no attribute 'partial_fit'" in message
    assert "got solver='auto', which is 'lbfgs'" in message
    assert "Set solver='adam'" in message
    assert info.value.__cause__ is None

    est.set_params(solver="lbfgs")
    with pytest.raises(AttributeError, match="got solver='lbfgs'.*"
                       "Set solver='adam'"):
        est.partial_fit(np.zeros((4, 16)))
    # on the class, the method is there (docs); called, the same message
    with pytest.raises(AttributeError, match="Set solver='adam'"):
        Estimator.partial_fit(est, np.zeros((4, 16)))
    assert Estimator.partial_fit.__doc__.startswith("Run one Adam epoch")

    assert hasattr(est.set_params(solver="adam"), "partial_fit")
    # 'auto' is Adam for contrastive divergence
    assert hasattr(Estimator(objective="cd"), "partial_fit")


# ---------------------------------------------------------------------- #
# objective__<setting> when objective is a string
# ---------------------------------------------------------------------- #
@pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
def test_objective_settings_are_searchable_when_objective_is_a_string():
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    from sksm.objectives import DenoisingScoreMatching

    est = RegularizedScoreMatchingPoE(n_experts=6, objective="dsm",
                                      max_iter=20, random_state=0)
    assert clone(est).get_params(deep=False)["objective"] == "dsm"
    # the idiom of rebuilding from get_params() keeps working
    assert type(est)(**est.get_params()).objective == "dsm"
    X = np.random.RandomState(0).rand(40, 6)
    search = GridSearchCV(est, {"objective__training_noise": [0.05, 0.3]},
                          cv=2, error_score="raise").fit(X)
    best = search.best_estimator_.objective
    assert isinstance(best, DenoisingScoreMatching)
    assert best.training_noise == search.best_params_[
        "objective__training_noise"]
    assert est.objective == "dsm"  # the search set clones
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))

    # the call: the string becomes the instance it stands for
    est.set_params(objective__noise_sigma=0.1)
    assert est.objective.get_params() == DenoisingScoreMatching(
        noise_sigma=0.1).get_params()
    full = RegularizedScoreMatchingPoE(objective="rsm_full")
    assert full.set_params(objective__hessian="full").objective.hessian == \
        "full"
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        RegularizedScoreMatchingPoE(objective="ssm").set_params(
            objective__nope=1)


# ---------------------------------------------------------------------- #
# A boolean is refused wherever a number is asked
# ---------------------------------------------------------------------- #
def _declared_numbers():
    """(class, parameter) of every numeric interval that the public
    estimators and objectives declare in ``_parameter_constraints``."""
    import sksm
    import sksm.objectives
    from sklearn.utils._param_validation import Interval

    classes = {getattr(module, name) for module in (sksm, sksm.objectives)
               for name in module.__all__
               if isinstance(getattr(module, name), type)}
    return sorted(((cls, name) for cls in classes
                   for name, constraints in getattr(
                       cls, "_parameter_constraints", {}).items()
                   if any(isinstance(c, Interval) for c in constraints)),
                  key=lambda case: (case[0].__name__, case[1]))


@pytest.mark.parametrize("cls, name", _declared_numbers(),
                         ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("flag", [True, np.True_, False])
def test_declared_numeric_parameters_refuse_booleans(cls, name, flag):
    with pytest.raises((TypeError, ValueError), match=repr(name)):
        cls(**{name: flag})._validate_params()


def test_the_declared_numbers_are_all_found():
    found = {(cls.__name__, name) for cls, name in _declared_numbers()}
    assert {("DenoisingScoreMatching", "noise_sigma"),
            ("DenoisingScoreMatching", "training_noise"),
            ("GaussianRBM", "sigma"), ("FieldsOfExperts", "c"),
            ("RegularizedScoreMatchingPoE", "reg_lambda"),
            ("ContrastiveDivergence", "n_mcmc_steps")} <= found
    assert len(found) >= 30


def _number_doors():
    """Numbers that are arguments of functions and methods, each given a
    boolean: (name in the message, call)."""
    from sksm import load_pretrained_foe, restoration
    from sksm.datasets import few_labels, load_mnist_subset
    from sksm.experts import StudentT
    from sksm.image import (add_noise, extract_patches, laplacian_kernel,
                            psnr, to_float)
    from sksm.metrics import make_denoising_scorer
    from sksm.objectives import DenoisingScoreMatching, SlicedScoreMatching
    from sksm.sampling import (Gaussian, Mixture, StudentTProduct,
                               annealed_importance_sampling, run_mcmc)

    image = np.random.RandomState(0).uniform(0.3, 0.7, (20, 20))

    def energy(x):
        return 0.5 * np.sum(x ** 2, axis=1), x

    def model():
        return load_pretrained_foe()

    def fit_poe(objective):
        return RegularizedScoreMatchingPoE(objective=objective).fit(
            np.random.RandomState(0).rand(10, 3))

    gauss = Gaussian(np.zeros(2), np.eye(2))
    return {
        # the case: a fit at noise 1.0
        "noise_sigma": lambda: fit_poe(DenoisingScoreMatching(
            noise_sigma=True)),
        "training_noise (sequence)": lambda: fit_poe(DenoisingScoreMatching(
            training_noise=[0.1, True])),
        "training_noise (ssm)": lambda: SlicedScoreMatching(
            training_noise=np.True_).check(0.01),
        "target_accept": lambda: run_mcmc(energy, np.zeros((2, 2)),
                                          target_accept=True),
        "step_size": lambda: run_mcmc(energy, np.zeros((2, 2)),
                                      step_size=True),
        "n_temperatures": lambda: annealed_importance_sampling(
            energy, gauss, n_temperatures=True),
        "c": lambda: StudentT(c=True),
        "scale": lambda: StudentTProduct(np.zeros(2), np.eye(2),
                                         np.ones(2), 1.0, scale=True),
        "proportions": lambda: Mixture([gauss, gauss], [True, True]),
        "sigma (restoration)": lambda: restoration.denoise(
            image, sigma=True, model=model()),
        "prior_weight": lambda: model().denoise(image, 0.1,
                                                prior_weight=True),
        "prior_scale": lambda: model().denoise(image, 0.1, prior_scale=True),
        "prior_weights": lambda: model().calibrate_denoising(
            image, [0.1], prior_weights=[True]),
        "step": lambda: model().super_resolve(image, 2, step=(True, 0.1)),
        "smoothness": lambda: model().inpaint(image, image > 1,
                                              smoothness=True),
        "n_chains": lambda: model().estimate_log_partition(n_chains=True),
        "n_samples": lambda: model().sample(n_samples=True),
        "sigma (scorer)": lambda: make_denoising_scorer(True),
        "sigma (noise)": lambda: add_noise(image, True),
        "data_range": lambda: psnr(image, image, data_range=True),
        "data_range (to_float)": lambda: to_float(image, data_range=True),
        "patch_size": lambda: extract_patches(image, True),
        "size": lambda: laplacian_kernel(size=True),
        "sigma (kernel)": lambda: laplacian_kernel(sigma=True),
        "per_class": lambda: few_labels(np.array([0, 1, 1]), True),
        "downsample": lambda: load_mnist_subset(downsample=True),
        "test_size": lambda: load_mnist_subset(test_size=True),
    }


@pytest.mark.parametrize("name", list(_number_doors()))
def test_numeric_arguments_refuse_booleans(name):
    with pytest.raises((TypeError, ValueError),
                       match=name.split(" ")[0]) as info:
        _number_doors()[name]()
    assert "True" in str(info.value)


# ---------------------------------------------------------------------- #
# A long fit says what it will cost; verbose shows its progress
# ---------------------------------------------------------------------- #
def _small(Estimator, **params):
    size = {"n_components": 2} if Estimator is GaussianRBM else {
        "n_experts": 2}
    return Estimator(**size, max_iter=3, random_state=0, **params)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_verbose_fit_states_its_cost_then_prints_every_iteration(
        Estimator, solver, capsys):
    import warnings

    X = np.random.RandomState(0).rand(30, 64)
    est = _small(Estimator, solver=solver, verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{Estimator.__name__}.fit: ")
    assert "max_iter=3" in lines[0] and "take up to about" in lines[0]
    unit = "Iteration" if solver == "lbfgs" else "Epoch"
    assert [line.split(",")[0] for line in lines[1:]] == [
        f"{unit} {k}" for k in range(1, est.n_iter_ + 1)]

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # short: no warning
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(verbose=0).fit(X)
    assert capsys.readouterr().out == ""


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_fit_expected_to_be_long_warns_at_verbose_0(monkeypatch):
    import sksm._progress

    monkeypatch.setattr(sksm._progress, "FIT_WARN_SECONDS", 0.0)
    X = np.random.RandomState(0).rand(30, 64)
    with pytest.warns(UserWarning, match=r"FieldsOfExperts.fit: one "
                      r"evaluation .* on 30 samples takes about .*; "
                      r"max_iter=3 iterations take up to about .*Set "
                      r"verbose=1"):
        _small(FieldsOfExperts).fit(X)


# ---------------------------------------------------------------------- #
# A Field of Experts scores images of one size, and says which
# ---------------------------------------------------------------------- #
def test_the_pretrained_prior_says_which_images_it_scores():
    from sksm import load_pretrained_foe

    model = load_pretrained_foe()
    X = np.random.RandomState(0).uniform(0.3, 0.7, (3, 15 * 15))
    for method in (model.score, model.score_samples, model.transform):
        with pytest.raises(ValueError, match=r"X has 225 features, but "
                           r"FieldsOfExperts is expecting 1296 features as "
                           r"input: images of 36x36 as rows of pixels "
                           r"\(image_shape_=\(36, 36\)\), not of 15x15 .*"
                           r"model.with_image_shape\(\(height, width\)\)"):
            method(X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_with_image_shape_scores_images_of_another_size():
    X = np.random.RandomState(0).rand(20, 64)
    model = FieldsOfExperts(n_experts=2, filter_size=3, max_iter=5,
                            random_state=0).fit(X)
    model.estimate_log_partition(n_chains=10, n_temperatures=5,
                                 random_state=0)
    other = model.with_image_shape((6, 7))
    assert other.image_shape_ == (6, 7) and other.n_features_in_ == 42
    assert not hasattr(other, "log_partition_")  # log Z of another size
    assert model.image_shape_ == (8, 8) and hasattr(model, "log_partition_")
    np.testing.assert_array_equal(other.filters_, model.filters_)

    images = np.random.RandomState(1).rand(4, 6, 7)
    rows = images.reshape(4, -1)
    log_z, _ = other.estimate_log_partition(n_chains=10, n_temperatures=5,
                                            random_state=0)
    np.testing.assert_allclose(other.score_samples(rows),
                               -model.energy(images) - log_z)
    assert other.transform(rows).shape == (4, 2 * 4 * 5)
    with pytest.raises(ValueError, match="too small"):
        model.with_image_shape((2, 7))
    with pytest.raises(ValueError, match="two positive integers"):
        model.with_image_shape((6, True))
