"""Saving and loading fitted models as ``.npz`` files, without pickle.

A model file holds plain arrays and one JSON string of constructor
parameters; it is read with ``allow_pickle=False`` and every entry is checked
before it reaches an estimator, so a malformed or hostile file gives a
``ValueError``, never code execution.
"""

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .foe import FieldsOfExperts
from .poe import RegularizedScoreMatchingPoE

__all__ = ["load_model", "save_model"]

_FORMAT = "sksm-model"
_VERSION = 1
_CLASSES = {cls.__name__: cls
            for cls in (RegularizedScoreMatchingPoE, FieldsOfExperts)}
# Fitted arrays of each class; every one must be finite floats.
_ARRAYS = {
    "RegularizedScoreMatchingPoE": ("filters_", "expert_weights_", "mean_"),
    "FieldsOfExperts": ("filters_", "expert_weights_"),
}
# Fitted arrays that a model may or may not have.
_OPTIONAL_ARRAYS = {
    "RegularizedScoreMatchingPoE": (),
    "FieldsOfExperts": ("denoise_calibration_",),
}
# Fitted scalars (stored in the JSON header).
_SCALARS = {
    "RegularizedScoreMatchingPoE": ("n_features_in_", "n_iter_"),
    "FieldsOfExperts": ("n_features_in_", "n_iter_", "mean_brightness_",
                        "std_brightness_", "image_shape_"),
}


def _jsonable(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return None  # e.g. a RandomState instance: not kept


def save_model(estimator, path):
    """Save a fitted sksm estimator to ``path`` (a ``.npz`` file).

    Parameters
    ----------
    estimator : RegularizedScoreMatchingPoE or FieldsOfExperts
        Fitted.
    path : str or path-like
        ``.npz`` is appended when it is missing (as :func:`numpy.savez`
        does); :func:`load_model` finds the file by the same rule.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    name = type(estimator).__name__
    if name not in _CLASSES:
        raise TypeError(f"save_model saves {sorted(_CLASSES)}, got {name}.")
    if not hasattr(estimator, "filters_"):
        raise ValueError(f"The {name} is not fitted; fit it before saving.")
    header = {
        "format": _FORMAT,
        "version": _VERSION,
        "class": name,
        "params": {k: _jsonable(v) for k, v in estimator.get_params().items()},
        "fitted": {k: _jsonable(getattr(estimator, k))
                   for k in _SCALARS[name]},
    }
    arrays = {k: np.asarray(getattr(estimator, k)) for k in _ARRAYS[name]}
    arrays.update({k: np.asarray(getattr(estimator, k))
                   for k in _OPTIONAL_ARRAYS[name] if hasattr(estimator, k)})
    path = _with_suffix(path)
    np.savez(path, header=np.array(json.dumps(header)), **arrays)
    return path


def _with_suffix(path):
    """``path`` as a Path, with ``.npz`` appended when missing."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _fail(path, why):
    raise ValueError(f"{path!s} is not a valid sksm model file: {why}.")


def load_model(path):
    """Load an estimator saved by :func:`save_model`, checking every entry.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator : RegularizedScoreMatchingPoE or FieldsOfExperts
        Fitted.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a well-formed sksm model.
    """
    if isinstance(path, (str, os.PathLike)):
        named = _with_suffix(path)  # as save_model names its files
        if not os.path.exists(path) and named.is_file():
            path = named
        if os.path.isdir(path):
            raise IsADirectoryError(f"{path!s} is a folder, not a model "
                                    "file.")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No such model file: {path!s}")
    if not zipfile.is_zipfile(path):
        _fail(path, "not an .npz (zip) archive (empty, truncated or of "
                    "another format)")
    try:
        with np.load(path, allow_pickle=False) as data:
            entries = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        _fail(path, f"cannot be read as .npz ({exc})")
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # object arrays refused
            _fail(path, f"it holds data that needs pickle ({exc})")
        _fail(path, f"a member cannot be read ({exc})")
    header = entries.pop("header", None)
    if header is None or header.dtype.kind != "U" or header.ndim != 0:
        _fail(path, "no header")
    try:
        header = json.loads(str(header))
    except json.JSONDecodeError:
        _fail(path, "the header is not JSON")
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        _fail(path, "wrong format marker")
    if header.get("version") != _VERSION:
        _fail(path, f"unsupported version {header.get('version')!r}")
    name = header.get("class")
    if name not in _CLASSES:
        _fail(path, f"unknown estimator class {name!r}")
    params, fitted = header.get("params"), header.get("fitted")
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        _fail(path, "parameters missing")
    cls = _CLASSES[name]
    unknown = set(params) - set(cls().get_params())
    if unknown:
        _fail(path, f"unknown parameters {sorted(unknown)}")
    if "image_shape" in params and params["image_shape"] is not None:
        params["image_shape"] = tuple(params["image_shape"])
    estimator = cls(**params)
    try:
        estimator._validate_params()
    except (TypeError, ValueError) as exc:
        _fail(path, f"invalid parameters ({exc})")

    required, optional = set(_ARRAYS[name]), set(_OPTIONAL_ARRAYS[name])
    if not required <= set(entries) <= required | optional:
        _fail(path, f"expected arrays {sorted(required)} (and optionally "
                    f"{sorted(optional)}), found {sorted(entries)}")
    for key, value in entries.items():
        if value.dtype.kind != "f" or not np.all(np.isfinite(value)):
            _fail(path, f"{key} must hold finite floats")
        setattr(estimator, key, value)
    if set(fitted) != set(_SCALARS[name]):
        _fail(path, "fitted values missing")
    for key, value in fitted.items():
        setattr(estimator, key, tuple(value) if isinstance(value, list)
                else value)
    _check_consistency(estimator, name, path)
    return estimator


def _check_consistency(est, name, path):
    filters, weights = est.filters_, est.expert_weights_
    if weights.ndim != 1 or len(weights) != len(filters):
        _fail(path, "expert_weights_ does not match filters_")
    if np.any(weights <= 0):
        _fail(path, "expert weights must be positive")
    if not isinstance(est.n_features_in_, int) or est.n_features_in_ < 1:
        _fail(path, "bad n_features_in_")
    if name == "RegularizedScoreMatchingPoE":
        if filters.ndim != 2 or filters.shape[1] != est.n_features_in_ \
                or est.mean_.shape != (est.n_features_in_,):
            _fail(path, "array shapes are inconsistent")
    else:
        k = est.filter_size
        shape = est.image_shape_
        if filters.shape != (len(filters), k, k) or len(filters) != \
                est.n_experts:
            _fail(path, "filters_ do not match n_experts and filter_size")
        if (len(shape) != 2 or not all(isinstance(s, int) for s in shape)
                or shape[0] * shape[1] != est.n_features_in_):
            _fail(path, "image_shape_ does not match n_features_in_")
        if not (np.isfinite(est.mean_brightness_)
                and est.std_brightness_ > 0):
            _fail(path, "bad brightness statistics")
        table = getattr(est, "denoise_calibration_", None)
        if table is not None and (table.ndim != 2 or table.shape[1] != 3
                                  or len(table) < 1 or np.any(table <= 0)
                                  or np.any(np.diff(table[:, 0]) <= 0)):
            _fail(path, "denoise_calibration_ must be rows of increasing "
                        "noise levels, positive weights and scales")
