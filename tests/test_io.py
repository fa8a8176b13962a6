"""Saving and loading models as .npz, and what a bad file does."""

import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sksm import FieldsOfExperts, RegularizedScoreMatchingPoE
from sksm.io import load_model, save_model


@pytest.fixture(scope="module")
def models():
    rng = np.random.RandomState(0)
    X = rng.standard_t(3, size=(300, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        poe = RegularizedScoreMatchingPoE(reg_lambda=0.02, max_iter=20,
                                          random_state=0).fit(X)
        foe = FieldsOfExperts(n_experts=3, image_shape=(12, 14), max_iter=5,
                              random_state=0).fit(rng.rand(10, 12 * 14))
    return X, poe, foe


def test_round_trip_poe(models, tmp_path):
    X, poe, _ = models
    path = tmp_path / "poe.npz"
    save_model(poe, path)
    loaded = load_model(path)
    assert loaded.get_params() == poe.get_params()
    np.testing.assert_array_equal(loaded.score_samples(X), poe.score_samples(X))
    np.testing.assert_array_equal(loaded.transform(X), poe.transform(X))


def test_round_trip_foe(models, tmp_path):
    _, _, foe = models
    path = tmp_path / "foe.npz"
    save_model(foe, path)
    loaded = load_model(path)
    assert loaded.image_shape_ == (12, 14)
    image = np.random.RandomState(1).rand(20, 21)
    assert loaded.energy(image) == foe.energy(image)


def test_save_rejects_unfitted_and_foreign(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        save_model(RegularizedScoreMatchingPoE(), tmp_path / "m.npz")
    with pytest.raises(TypeError, match="save_model saves"):
        save_model(object(), tmp_path / "m.npz")


def _tamper(models, tmp_path, **changes):
    _, poe, _ = models
    path = tmp_path / "good.npz"
    save_model(poe, path)
    with np.load(path) as data:
        entries = {k: data[k] for k in data.files}
    header = json.loads(str(entries["header"]))
    for key, value in changes.items():
        if key.startswith("header_"):
            header[key[len("header_"):]] = value
        elif value is None:
            del entries[key]
        else:
            entries[key] = value
    entries["header"] = np.array(json.dumps(header))
    bad = tmp_path / "bad.npz"
    np.savez(bad, **entries)
    return bad


@pytest.mark.parametrize("changes, match", [
    ({"header_class": "os.system"}, "unknown estimator class"),
    ({"header_format": "other"}, "format marker"),
    ({"header_version": 99}, "version"),
    ({"header_params": {"reg_lambda": -1.0}}, "invalid parameters"),
    ({"header_params": {"evil": 1}}, "unknown parameters"),
    ({"filters_": None}, "expected arrays"),
    ({"filters_": np.full((5, 5), np.nan)}, "finite floats"),
    ({"filters_": np.ones((4, 5))}, "does not match"),
    ({"expert_weights_": -np.ones(5)}, "positive"),
    ({"mean_": np.array(["a"] * 5)}, "finite floats"),
])
def test_load_rejects_tampered_files(models, tmp_path, changes, match):
    with pytest.raises(ValueError, match=match):
        load_model(_tamper(models, tmp_path, **changes))


def test_load_rejects_non_npz_and_pickled_content(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not an .npz"):
        load_model(junk)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, header=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        load_model(pickled)


def test_save_and_load_agree_on_the_file_name(models, tmp_path):
    """save_model appends .npz as numpy does, returns the real path, and
    load_model finds the file by the same rule."""
    X, poe, _ = models
    written = save_model(poe, tmp_path / "mymodel")
    assert written == tmp_path / "mymodel.npz" and written.is_file()
    assert not (tmp_path / "mymodel").exists()
    loaded = load_model(str(tmp_path / "mymodel"))
    np.testing.assert_array_equal(loaded.score_samples(X),
                                  poe.score_samples(X))
    assert save_model(poe, tmp_path / "b.npz") == tmp_path / "b.npz"


def test_load_reports_the_real_fault_of_a_bad_file(models, tmp_path):
    png = tmp_path / "picture.npz"  # a PNG renamed
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    _, poe, _ = models
    truncated = tmp_path / "truncated.npz"
    whole = save_model(poe, tmp_path / "whole.npz").read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    for path in (png, empty, truncated):
        with pytest.raises(ValueError, match="not an .npz") as caught:
            load_model(path)
        assert "pickle" not in str(caught.value)
    folder = tmp_path / "d.npz"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="folder"):
        load_model(folder)
