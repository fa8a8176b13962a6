"""numpydoc validation of every public object of the package.

Public: the names in the ``__all__`` of every module whose name does not
start with an underscore, and the public methods and properties of those
classes, including the ones they inherit from private classes of sksm (an
estimator's ``fit`` and ``sample`` are its API wherever they are written).

Enforced (``ENFORCED``), the checks that catch a docstring that does not
say how to call the object or what it gives back:

- GL08: a docstring exists.  An override without one inherits its base's,
  as :func:`inspect.getdoc` and Sphinx show it; that docstring is then
  validated against the override's signature.
- GL03, GL05, GL06, GL07, GL09, GL10: blank lines, tabs, known section
  names in numpydoc's order, deprecation directive placement, and
  closed ``.. math``/``.. note`` blocks.
- SS01 to SS06: a one-line summary, with a capital letter and a period,
  not starting with the object's name or "Returns ..." (the infinitive).
- PR01 to PR10: every parameter documented, none that does not exist, in
  the signature's order, each with a type and a description; "int" and
  "bool", not "integer" and "boolean"; colons spaced.  The fields of a
  dataclass (a result type) are its constructor's parameters and its
  attributes: documented under Attributes, they count as documented.
- RT01, RT03, RT04, RT05: a function that returns a value has a Returns
  section whose entries are described in sentences.
- YD01: a generator has a Yields section.
- SA02 to SA04: See Also entries are well formed.

Not enforced, and why:

- ES01 (an extended summary), EX01 (an Examples section), SA01 (a See Also
  section): good where they help, noise where the summary says it all.
  The estimators and the top-level functions have examples, run as
  doctests.
- GL01, GL02: where the summary starts and the closing quotes go, style
  only.
- RT02 (the first line of a Returns entry holds only the type): the house
  style names what is returned (``denoised : ndarray of shape ...``), as
  scikit-learn does, so that the text can refer to it.
"""

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

import sksm  # noqa: E402

ENFORCED = {
    "GL03", "GL05", "GL06", "GL07", "GL08", "GL09", "GL10",
    "SS01", "SS02", "SS03", "SS04", "SS05", "SS06",
    "PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR08", "PR09",
    "PR10",
    "RT01", "RT03", "RT04", "RT05",
    "YD01",
    "SA02", "SA03", "SA04",
}


def _public_modules():
    names = ["sksm"]
    for info in pkgutil.walk_packages(sksm.__path__, "sksm."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return [importlib.import_module(name) for name in names]


def _owner(cls, attr):
    """The class of ``cls``'s MRO that defines ``attr``."""
    return next(k for k in cls.__mro__ if attr in vars(k))


def _public_objects():
    """``{path: object}``: every public object once, by a path that
    imports it (the first public path found)."""
    found, seen = {}, set()
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # constants and the version string
            if obj.__module__.split(".")[0] != "sksm" or id(obj) in seen:
                continue
            seen.add(id(obj))
            path = f"{module.__name__}.{name}"
            found[path] = obj
            if not inspect.isclass(obj):
                continue
            for attr in sorted(dir(obj)):
                if attr.startswith("_"):
                    continue
                owner = _owner(obj, attr)
                if not owner.__module__.startswith("sksm"):
                    continue  # scikit-learn's get_params, set_output...
                member = vars(owner)[attr]
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if not (inspect.isfunction(member)
                        or isinstance(member, property)):
                    continue  # class constants
                key = member.fget if isinstance(member, property) else member
                if id(key) in seen:
                    continue
                seen.add(id(key))
                found[f"{path}.{attr}"] = member
    return found


class InheritingValidator(numpydoc_validate.Validator):
    """numpydoc's validator, where an override without a docstring of its
    own is read with the one it inherits."""

    def __init__(self, obj_name):
        obj = numpydoc_validate.Validator._load_obj(obj_name)
        super().__init__(numpydoc_validate.get_doc_object(obj))
        if not self.raw_doc:
            self.raw_doc = inspect.getdoc(obj) or ""


PUBLIC = _public_objects()


def test_the_public_objects_are_found():
    # the estimators, their inherited API and the modules' functions
    for path in ["sksm.FieldsOfExperts", "sksm.FieldsOfExperts.fit",
                 "sksm.FieldsOfExperts.sample", "sksm.restoration.denoise",
                 "sksm.energies.Linear.forward", "sksm.image.psnr"]:
        assert path in PUBLIC
    assert len(PUBLIC) > 150


def _errors(path):
    """The enforced findings of numpydoc for ``path``, as text."""
    obj = PUBLIC[path]
    result = numpydoc_validate.validate(path,
                                        validator_cls=InheritingValidator)
    errors = [(code, message) for code, message in result["errors"]
              if code in ENFORCED]
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
        doc = numpydoc_validate.get_doc_object(obj)
        attributes = {name for name, _, _ in doc["Attributes"]}
        missing = {field.name for field in dataclasses.fields(obj)
                   if field.init} - attributes
        errors = [(code, message) for code, message in errors
                  if code != "PR01"]
        if missing:
            errors.append(("PR01", f"Fields {sorted(missing)} not "
                                   "documented under Attributes"))
    return [f"{code}: {message}" for code, message in errors]


def test_a_dataclass_is_documented_by_its_attributes():
    from sksm.sampling import AISResult
    assert dataclasses.is_dataclass(AISResult)
    assert _errors("sksm.sampling.AISResult") == []


@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_docstring(path):
    errors = _errors(path)
    assert not errors, f"{path}:\n" + "\n".join(errors)
