"""Saving and loading fitted models as ``.npz`` files, without pickle.

A model file is a zip archive of ``.npy`` members: the fitted arrays, and a
``header`` holding one JSON string with the class name, the constructor
parameters and the fitted scalars.  Any estimator of the package is saved
from what its class declares (its constructor parameters and its
``_fitted_attributes``), so there is no table per class here.

Loading treats the file as hostile.  Before any array is inflated, the zip
directory and every member's ``.npy`` header are read and checked against
the declaration: dtype, shape (dimensions named by the parameters agree
across arrays), and size, both against the archive (a compressed member may
inflate at most ``MAX_INFLATION`` times, so a small file cannot claim a large
array) and against the bytes actually read.  The JSON header is bounded in
length and nesting depth, and the JSON type of each of its fields is checked
in one place (``_check_structure``) before any field is used.  Anything that
does not hold gives a ``ValueError`` naming the file, never code execution,
and memory stays within a small multiple of the file's size.
"""

import inspect
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from . import objectives
from ._npz import (
    _MAX_MEMBERS,
    _SLACK,
    MAX_INFLATION,
    _archive_size,
    _Invalid,
    _read_data,
    _read_header,
    _read_layout,
)
from ._validation import SavedModel, check_fitted_value
from .objectives import OBJECTIVES, Objective, check_objective

__all__ = ["load_model", "save_model"]

_FORMAT = "sksm-model"
_VERSION = 1


def _estimator_classes():
    """The estimators that can be saved: the package's public ones, the
    subclasses of :class:`~sksm._validation.SavedModel` that its public
    modules define (importing sksm defines them all; the bases live in
    private modules)."""
    classes, todo = {}, [SavedModel]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if (cls.__module__.startswith("sksm.")
                and not cls.__module__.startswith("sksm._")):
            classes[cls.__name__] = cls
    return classes


def _jsonable(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_jsonable(v) for v in value]
    return None  # e.g. a RandomState instance: not kept


def _tuples(value):
    """JSON lists back to the tuples that ``get_params`` gave."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _objective_classes():
    """The objectives a file may name: the public ones of sksm.objectives."""
    classes = (getattr(objectives, name) for name in objectives.__all__)
    return {cls.__name__: cls for cls in classes
            if isinstance(cls, type) and issubclass(cls, Objective)
            and cls is not Objective}


def _constructor_params(estimator):
    """The constructor parameters as JSON values; an objective object as
    ``{"class": name, "params": {...}}``."""
    params = {}
    for key, value in estimator.get_params(deep=False).items():
        if isinstance(value, Objective):
            settings = _current_names(value.get_params(deep=False),
                                      _default_settings(type(value)))
            value = {"class": type(value).__name__,
                     "params": {k: _jsonable(v) for k, v in
                                settings.items()}}
        else:
            value = _jsonable(value)
        params[key] = value
    return params


#: Objective settings that were constructor parameters of the estimators
#: before the objectives became objects (files written until then).
_LEGACY_OBJECTIVE_PARAMS = ("noise_sigma", "n_projections", "projection",
                            "n_mcmc_steps", "mcmc_method", "persistent")

#: Objective settings renamed since files were first written, by their
#: former names (as files before the rename hold them).
_RENAMED_SETTINGS = {"noise_sigma": "training_noise"}


def _default_settings(cls):
    """The default settings of the objective class ``cls``, from its
    constructor's signature (without constructing one)."""
    return {name: p.default for name, p in
            inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _current_names(settings, defaults):
    """An objective's ``settings`` under the current names of
    :data:`_RENAMED_SETTINGS`, for an objective whose default settings are
    ``defaults``.

    A former name that the objective keeps as a deprecated alias goes: its
    value (when it is not the alias's default, ``'deprecated'``) becomes the
    current setting's, if that one is at its default; given both, both stay
    (and the objective's ``check`` refuses them).  A former name of a
    setting the objective does not have stays as it is.
    """
    settings = dict(settings)
    for old, new in _RENAMED_SETTINGS.items():
        if old not in settings or new not in defaults:
            continue
        value, current = settings[old], settings.get(new, defaults[new])
        if isinstance(value, str) and value == "deprecated":
            del settings[old]
        elif isinstance(current, str) and current == defaults[new]:
            del settings[old]
            settings[new] = value
    return settings


def _objective_from_file(params):
    """Rebuild ``params["objective"]`` (in place) from its JSON form, and
    fold the settings of earlier files into it."""
    legacy = {k: params.pop(k) for k in _LEGACY_OBJECTIVE_PARAMS
              if k in params}
    value = params.get("objective", "rsm")
    if isinstance(value, dict):
        classes = _objective_classes()  # the structure: _check_structure
        name, settings = value["class"], value["params"]
        if name not in classes:
            raise _Invalid(f"unknown objective class {name!r}")
        cls = classes[name]
        defaults = cls().get_params(deep=False)
        settings = _current_names(settings, defaults)
        unknown = set(settings) - set(defaults)
        if unknown:
            raise _Invalid(f"unknown settings {sorted(unknown)} of {name}")
        params["objective"] = cls(**{k: _tuples(v)
                                     for k, v in settings.items()})
    elif isinstance(value, str) and legacy and value in OBJECTIVES:
        default = check_objective(value)
        accepted = default.get_params(deep=False)
        legacy = _current_names(legacy, accepted)
        changed = {k: _tuples(v) for k, v in legacy.items()
                   if k in accepted and _tuples(v) != accepted[k]}
        if changed:
            params["objective"] = default.set_params(**changed)


def save_model(estimator, path):
    """Save a fitted sksm estimator to ``path`` (a ``.npz`` file).

    The file holds the constructor parameters (a ``random_state`` given as a
    ``RandomState`` instance is saved as None) and the fitted attributes;
    the state that only ``partial_fit`` uses between calls (Adam's moments,
    its random stream) is not kept, so ``partial_fit`` on a loaded model
    continues with a fresh optimiser state.

    Parameters
    ----------
    estimator : RegularizedScoreMatchingPoE, FieldsOfExperts or GaussianRBM
        Fitted.
    path : str or path-like
        ``.npz`` is appended when it is missing (as :func:`numpy.savez`
        does); :func:`load_model` finds the file by the same rule.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        If ``estimator`` is not one of the package's estimators.
    ValueError
        If it is not fitted.
    """
    classes = _estimator_classes()
    name = type(estimator).__name__
    if classes.get(name) is not type(estimator):
        raise TypeError(f"save_model saves {sorted(classes)}, got "
                        f"{type(estimator).__module__}.{name}.")
    declared = type(estimator)._fitted_attributes
    missing = [key for key, spec in declared.items()
               if not spec.optional and not hasattr(estimator, key)]
    if missing:
        raise ValueError(f"The {name} is not fitted (it has no "
                         f"{', '.join(missing)}); fit it before saving.")
    scalars, arrays = {}, {}
    for key, spec in declared.items():
        if not hasattr(estimator, key):
            continue
        value = getattr(estimator, key)
        if spec.kind in ("array", "curve"):
            arrays[key] = np.asarray(value, dtype=np.float64
                                     if spec.kind == "curve" else None)
        else:
            scalars[key] = _jsonable(value)
    header = {
        "format": _FORMAT,
        "version": _VERSION,
        "class": name,
        "params": _constructor_params(estimator),
        "fitted": scalars,
    }
    path = _with_suffix(path)
    np.savez(path, header=np.array(json.dumps(header)), **arrays)
    return path


def _with_suffix(path):
    """``path`` as a Path, with ``.npz`` appended when missing."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def load_model(path):
    """Load an estimator saved by :func:`save_model`, checking every entry.

    Parameters
    ----------
    path : str, path-like or binary file object
        ``.npz`` is appended when the name has no such file but the name
        with it does (as :func:`save_model` names its files).

    Returns
    -------
    estimator : RegularizedScoreMatchingPoE, FieldsOfExperts or GaussianRBM
        Fitted.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    IsADirectoryError
        If ``path`` is a folder.
    ValueError
        If the file is not a well-formed sksm model: not a zip archive,
        a member that is not a float ``.npy`` array of the declared shape,
        a member larger than its stored bytes allow, a malformed or
        oversized header (a field missing, unknown or of the wrong JSON
        type), unknown parameters or classes, or fitted values that
        disagree with each other.  The message names the file (the path as
        given, or a file object's ``name``) and the fault.
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
    # the path as given (a Path's .name would drop its folder), or the
    # name of a file object
    where = (os.fspath(path) if isinstance(path, (str, os.PathLike))
             else getattr(path, "name", path))
    try:
        return _load(path)
    except _Invalid as exc:
        raise ValueError(f"{where!s} is not a valid sksm model file: "
                         f"{exc}.") from None


def _load(path):
    if not zipfile.is_zipfile(path):
        raise _Invalid("not an .npz (zip) archive (empty, truncated or of "
                       "another format)")
    try:
        with zipfile.ZipFile(path) as archive:
            return _load_archive(archive, _archive_size(path))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
            NotImplementedError, RuntimeError) as exc:
        # a corrupt directory, a bad CRC, an unknown compression method or
        # an encrypted member
        raise _Invalid(f"not an .npz (zip) archive that can be read "
                       f"({type(exc).__name__}: {exc})") from None


def _load_archive(archive, archive_size):
    members = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy") or info.is_dir():
            raise _Invalid(f"unexpected member {info.filename!r}")
        key = info.filename[:-4]
        if key in members:
            raise _Invalid(f"member {key!r} appears twice")
        if info.compress_size > archive_size or info.file_size > (
                MAX_INFLATION * info.compress_size + _SLACK):
            raise _Invalid(f"member {key!r} claims {info.file_size} bytes "
                           f"from {info.compress_size} stored")
        members[key] = info
    if len(members) > _MAX_MEMBERS:
        raise _Invalid(f"{len(members)} members")
    if "header" not in members:
        raise _Invalid("no header")
    header = _read_header(archive, members.pop("header"))
    cls, params, fitted = _check_header(header)
    estimator = cls(**params)
    try:
        estimator._validate_params()
        objective = getattr(estimator, "objective", None)
        if isinstance(objective, Objective):
            objective.check(getattr(estimator, "reg_lambda", None))
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"invalid parameters ({exc})") from None

    declared = cls._fitted_attributes
    arrays = {k for k, s in declared.items() if s.kind in ("array", "curve")}
    required = {k for k in arrays if not declared[k].optional}
    if not required <= set(members) <= arrays:
        raise _Invalid(f"expected arrays {sorted(required)} (and optionally "
                       f"{sorted(arrays - required)}), found "
                       f"{sorted(members)}")
    scalars = set(declared) - arrays
    needed = {k for k in scalars if not declared[k].optional}
    if not needed <= set(fitted) <= scalars:
        raise _Invalid(f"expected fitted values {sorted(needed)} (and "
                       f"optionally {sorted(scalars - needed)}), found "
                       f"{sorted(fitted)}")
    for key, value in fitted.items():
        try:
            setattr(estimator, key, check_fitted_value(declared[key], value,
                                                       key))
        except (TypeError, ValueError) as exc:
            raise _Invalid(str(exc).rstrip(".")) from None

    # Every member's .npy header first: dtype and shape against the
    # declaration, before any array is inflated.
    dims = dict(params)
    dims.update((k, v) for k, v in fitted.items()
                if declared[k].kind == "size")
    layouts = {key: _read_layout(archive, members[key], key, declared[key],
                                 dims) for key in sorted(members)}
    for key, (shape, dtype, fortran) in layouts.items():
        value = _read_data(archive, members[key], key, shape, dtype, fortran)
        spec = declared[key]
        if not np.all(np.isfinite(value)):
            raise _Invalid(f"{key} must hold finite floats")
        if spec.positive and np.any(value <= 0):
            raise _Invalid(f"{key} must be positive")
        setattr(estimator, key, value.tolist() if spec.kind == "curve"
                else value)
    try:
        estimator.__sksm_check_fitted__()
    except (TypeError, ValueError) as exc:
        raise _Invalid(str(exc).rstrip(".")) from None
    return estimator


#: The JSON header of a model file: each field, the JSON type it holds and
#: what it is (for the messages).  Every parameter, objective setting and
#: fitted value is a scalar or a list of them; the objective is a string or
#: an object of :data:`_OBJECTIVE_FIELDS`.
_HEADER_FIELDS = {"format": (str, "the format marker"),
                  "version": (int, "the version"),
                  "class": (str, "the estimator class"),
                  "params": (dict, "the parameters"),
                  "fitted": (dict, "the fitted values")}
_OBJECTIVE_FIELDS = {"class": (str, "the objective class"),
                     "params": (dict, "the objective settings")}
_TYPE_NAMES = {str: "a string", int: "an integer", dict: "an object"}


def _json_kind(value):
    """The JSON name of a value's type, for the messages."""
    for kind, name in ((bool, "a boolean"), (dict, "an object"),
                       (list, "a list"), (str, "a string"),
                       ((int, float), "a number"), (type(None), "null")):
        if isinstance(value, kind):
            return name
    return type(value).__name__  # pragma: no cover - json gives no other


def _got(value):
    """``value`` in a message: its JSON type and a short repr."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{_json_kind(value)} {text}"


def _plain(value):
    """Whether ``value`` is a JSON scalar or a (nested) list of them."""
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, (str, int, float, bool, type(None)))


def _check_fields(obj, fields, where):
    """Refuse a JSON object whose keys are not those of ``fields`` or whose
    values are not of their types; ``where`` names it in the messages."""
    if not isinstance(obj, dict):
        raise _Invalid(f"{where} must be a JSON object, got {_got(obj)}")
    if set(obj) != set(fields):
        raise _Invalid(f"{where} must have the fields {sorted(fields)}, "
                       f"found {sorted(obj)}")
    for key, (kind, what) in fields.items():
        value = obj[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _Invalid(f"{what} ({key!r} of {where}) must be "
                           f"{_TYPE_NAMES[kind]}, got {_got(value)}")


def _check_plain(values, what):
    for key, value in values.items():
        if not _plain(value):
            raise _Invalid(f"{what} {key!r} must be a number, string, "
                           f"boolean, null or a list of them, got "
                           f"{_got(value)}")


def _check_structure(header):
    """Check the JSON type of every field of the header, before any is
    used: the one place where the structure of a header is checked (the
    values are then checked by the estimator's parameter constraints and
    its declared fitted state)."""
    _check_fields(header, _HEADER_FIELDS, "the header")
    params = dict(header["params"])
    objective = params.get("objective")
    if isinstance(objective, dict):
        _check_fields(objective, _OBJECTIVE_FIELDS, "the objective")
        _check_plain(objective["params"], "objective setting")
        del params["objective"]
    _check_plain(params, "parameter")
    _check_plain(header["fitted"], "fitted value")


def _check_header(header):
    _check_structure(header)
    if header["format"] != _FORMAT:
        raise _Invalid("wrong format marker")
    if header["version"] != _VERSION:
        raise _Invalid(f"unsupported version {header['version']!r}")
    name = header["class"]
    classes = _estimator_classes()
    if name not in classes:
        raise _Invalid(f"unknown estimator class {name!r}")
    params, fitted = header["params"], header["fitted"]
    cls = classes[name]
    params = {k: v if isinstance(v, dict) else _tuples(v)
              for k, v in params.items()}
    _objective_from_file(params)
    unknown = set(params) - set(cls().get_params(deep=False))
    if unknown:
        raise _Invalid(f"unknown parameters {sorted(unknown)}")
    return cls, params, fitted


