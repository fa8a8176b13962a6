"""Write the intersphinx inventories of doc/conf.py, without the network.

Intersphinx reads, for every project the pages link to, an ``objects.inv``
that maps names to addresses.  The documentation sites are out of reach of
the build (it must work offline, in CI), so this script writes small
inventories of our own, ``doc/_inventories/<project>.inv``, that hold just
the names these pages reference, at the address each project's documentation
gives them (its documented URL scheme, below), with Sphinx's own writer
(:meth:`sphinx.util.inventory.InventoryFile.dump`).

The names are found in the sources: cross-reference roles
(``:class:`~sklearn.pipeline.Pipeline``` and the like) in ``doc/*.rst``,
``examples/*.py`` and ``sksm/``, the "See Also" entries of the docstrings,
the objects the gallery's code uses (sphinx-gallery records them in
``doc/auto_examples/*.codeobj.json`` during a docs build: build the docs
first) and the few names of :data:`EXTRA`.  Each name is imported to learn
what it is (class, function, method, exception, module).  Run it from the root of
the checkout after referencing a new outside name, and commit the result::

    python doc/make_inventories.py

A name the script cannot place stays plain text in the pages (the build
does not warn); ``--check`` lists the names found and where they point.
"""

import argparse
import builtins
import importlib
import inspect
import re
import sys
from pathlib import Path
from types import SimpleNamespace

from sphinx.util.inventory import InventoryFile

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "doc" / "_inventories"

#: The projects, with the base address of their documentation (the same as
#: in doc/conf.py) and the version the inventory is named for.
PROJECTS = {
    "python": ("Python", "3"),
    "numpy": ("NumPy", "stable"),
    "scipy": ("SciPy", "stable"),
    "sklearn": ("scikit-learn", "stable"),
    "pillow": ("Pillow", "stable"),
    "dask": ("Dask", "stable"),
    "distributed": ("Dask.distributed", "stable"),
    "dask_ml": ("dask-ml", "stable"),
    "skimage": ("scikit-image", "stable"),
}

#: Names the pages use without a role that the scan would see: numpydoc's
#: parameter types and the most common objects of the user guide.
EXTRA = [
    "numpy.ndarray", "numpy.dtype", "numpy.random.RandomState",
    "numpy.random.Generator", "numpy.float32", "numpy.float64",
    "numpy.uint8", "numpy.uint16", "numpy.load", "numpy.savez",
    "scipy.optimize.minimize", "scipy.optimize.OptimizeResult",
    "sklearn.base.BaseEstimator", "sklearn.base.TransformerMixin",
    "sklearn.pipeline.Pipeline", "sklearn.model_selection.GridSearchCV",
    "sklearn.exceptions.ConvergenceWarning",
    "sklearn.utils.check_random_state",
    "PIL.Image.Image", "PIL.Image.open",
    "ValueError", "TypeError", "OSError", "FileNotFoundError",
    "IsADirectoryError", "NotImplementedError", "UserWarning",
    "MemoryError", "RuntimeWarning", "int", "float", "bool", "str", "list",
    "tuple", "dict", "None", "pathlib.Path", "os.PathLike",
    "argparse.ArgumentParser", "argparse.ArgumentDefaultsHelpFormatter",
    "importlib.metadata.version",
]

#: Names outside the Python domain, and Python names the scan cannot see,
#: that numpydoc's type links (numpydoc_xref_aliases in doc/conf.py) use:
#: (project, domain:type, name, page, anchor, display name).
OTHER = [
    ("python", "py:data", "True", "library/constants.html", "True", "-"),
    ("python", "py:data", "False", "library/constants.html", "False", "-"),
    ("python", "py:function", "callable", "library/functions.html",
     "callable", "-"),
    ("python", "py:function", "contextlib.contextmanager",
     "library/contextlib.html", "contextlib.contextmanager", "-"),
    ("python", "py:function", "collections.namedtuple",
     "library/collections.html", "collections.namedtuple", "-"),
    ("python", "std:term", "iterable", "glossary.html", "term-iterable",
     "iterable"),
    ("python", "std:term", "sequence", "glossary.html", "term-sequence",
     "sequence"),
    ("python", "std:term", "generator", "glossary.html", "term-generator",
     "generator"),
    ("numpy", "std:term", "array_like", "glossary.html", "term-array_like",
     "array_like"),
    ("numpy", "std:label", "arrays.scalars", "reference/arrays.scalars.html",
     "arrays-scalars", "Scalars"),
    ("numpy", "py:module", "numpy", "reference/index.html", "module-numpy",
     "-"),
    ("numpy", "py:data", "numpy.inf", "reference/constants.html",
     "numpy.inf", "-"),
    ("numpy", "py:data", "numpy.nan", "reference/constants.html",
     "numpy.nan", "-"),
]

_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|attr|exc|mod|data|obj):`~?"
    r"(?:[^`<]*<)?([A-Za-z_][\w.]*)>?`")
_SEE_ALSO = re.compile(
    r"^\s*((?:sklearn|numpy|scipy|PIL|dask|distributed|dask_ml|skimage)"
    r"\.[\w.]+)\s*:",
    re.M)


def referenced_names():
    """Every outside name the sources reference, sorted."""
    files = [*sorted((ROOT / "doc").glob("*.rst")),
             *sorted((ROOT / "examples").glob("*.py")),
             *sorted((ROOT / "sksm").rglob("*.py"))]
    names = set(EXTRA)
    for path in files:
        text = path.read_text(encoding="utf-8")
        names.update(_ROLE.findall(text))
        names.update(_SEE_ALSO.findall(text))
    names.update(gallery_names())
    return sorted(n for n in names
                  if project_of(n) is not None and _importable(n))


def gallery_names():
    """The outside objects the gallery's code uses, as sphinx-gallery
    recorded them in ``doc/auto_examples/*.codeobj.json`` (after a docs
    build; none before): they become links in the examples' code."""
    import json

    names = set()
    for path in sorted((ROOT / "doc" / "auto_examples").glob(
            "*.codeobj.json")):
        for candidates in json.loads(path.read_text()).values():
            # the candidates run from the object's own class to its bases:
            # the first one at a public address is the one to link
            for entry in candidates:
                module, name = entry["module"], entry["name"]
                if any(part.startswith("_") or part == "mtrand" for part in
                       (*module.split("."), *name.split("."))):
                    continue
                full = name if module == "builtins" else f"{module}.{name}"
                if module.split(".")[0] == "sksm":
                    break  # ours: linked within the site
                if project_of(full) is not None and _importable(full):
                    if not (project_of(full) == "python" and role_of(full)
                            in ("method", "attribute")):
                        names.add(full)  # (Python's docs: no page anchors
                    break                # for the methods of abstract types)
    return names


def _importable(name):
    try:
        obj, parent = resolve(name)
    except (ImportError, AttributeError):
        return False
    if "." not in name and name != "None":
        # built-ins documented as such: types, functions, exceptions
        return inspect.isclass(obj) or inspect.isbuiltin(obj)
    # the name must be the object's public home, not a path through a
    # private module or an instance
    return inspect.ismodule(parent) or inspect.isclass(parent)


def project_of(name):
    """The project that documents ``name``, or None."""
    top = name.split(".")[0]
    if top in ("sklearn", "numpy", "scipy", "dask", "distributed",
               "dask_ml", "skimage"):
        return top
    if top == "PIL":
        return "pillow"
    if top in ("np", "sksm"):
        return None
    if "." not in name:
        return "python" if hasattr(builtins, name) else None
    return "python" if top in sys.stdlib_module_names else None


def resolve(name):
    """The object ``name`` stands for and the object holding it."""
    if name == "None":
        return None, builtins
    parts = name.split(".")
    if len(parts) == 1:
        return getattr(builtins, name), builtins
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        parent = None
        for attr in parts[split:]:
            parent, obj = obj, getattr(obj, attr)
        return obj, parent
    raise ImportError(name)


def role_of(name):
    """The Python domain object type of ``name``, by importing it."""
    obj, parent = resolve(name)
    if name == "None":
        return "data"
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isclass(parent):
        if isinstance(inspect.getattr_static(parent, name.split(".")[-1]),
                      property):
            return "attribute"
        return "method" if callable(obj) else "attribute"
    if callable(obj):
        return "function"
    return "data"


def page_of(name, role):
    """The address of ``name`` relative to its project's base address.

    The schemes, as each project's documentation lays out its API pages:

    - Python: built-in functions and types on ``library/functions.html``
      or ``library/stdtypes.html``, exceptions on
      ``library/exceptions.html``, a module's names on its
      ``library/<module>.html``;
    - NumPy: ``reference/generated/<name>.html`` (the random generators on
      ``reference/random/generator.html`` and ``legacy.html``, the scalar
      types on ``reference/arrays.scalars.html``);
    - SciPy: ``reference/generated/<name>.html``;
    - scikit-learn: ``modules/generated/<name>.html`` for classes and
      functions (a method on its class's page), ``api/<module>.html`` for
      modules;
    - Pillow: ``reference/<Module>.html`` for ``PIL.<Module>``'s names;
    - Dask: ``generated/<name>.html``; distributed: all on ``api.html``;
      dask-ml: ``modules/generated/<name>.html``;
    - scikit-image: a module's names on ``api/<module>.html``.
    """
    project, parts = project_of(name), name.split(".")
    if project == "python":
        if role == "exception" and len(parts) == 1:
            return "library/exceptions.html"
        if name == "None":
            return "library/constants.html"
        if len(parts) == 1:
            stdtypes = {"str", "list", "tuple", "dict", "set", "frozenset",
                        "bytes", "range", "memoryview"}
            return ("library/stdtypes.html" if name in stdtypes
                    else "library/functions.html")
        module = name if role == "module" else ".".join(parts[:-1])
        if role in ("method", "attribute"):
            module = ".".join(parts[:-2])
        return f"library/{module}.html"
    if project == "numpy":
        if name in ("numpy.random.Generator", "numpy.random.default_rng"):
            return "reference/random/generator.html"
        if name == "numpy.random.RandomState":
            return "reference/random/legacy.html"
        if name.startswith("numpy.random."):
            return f"reference/random/generated/{name}.html"
        if len(parts) == 2 and role == "class" and parts[-1] not in (
                "ndarray", "dtype", "ufunc"):
            return "reference/arrays.scalars.html"  # float64, int64, ...
        if role == "data":
            return "reference/constants.html"
        return f"reference/generated/{name}.html"
    if project == "scipy":
        return f"reference/generated/{name}.html"
    if project == "sklearn":
        if role == "module":
            return f"api/{name}.html"
        if role in ("method", "attribute"):
            return f"modules/generated/{'.'.join(parts[:-1])}.html"
        return f"modules/generated/{name}.html"
    if project == "pillow":
        return f"reference/{parts[1]}.html"
    if project == "dask":
        return f"generated/{name}.html"
    if project == "distributed":
        return "api.html"
    if project == "dask_ml":
        if role in ("method", "attribute"):
            return f"modules/generated/{'.'.join(parts[:-1])}.html"
        return f"modules/generated/{name}.html"
    if project == "skimage":
        module = name if role == "module" else ".".join(parts[:-1])
        if role in ("method", "attribute"):
            module = ".".join(parts[:-2])
        return f"api/{module}.html"
    raise ValueError(name)


def write_inventories(names, folder=OUT):
    """Write one inventory per project into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    # project -> domain -> entries as Sphinx's domains give them
    by_project = {project: {"py": {}, "std": {}} for project in PROJECTS}
    for name in names:
        role = role_of(name)
        anchor = f"module-{name}" if role == "module" else name
        by_project[project_of(name)]["py"][name] = (
            name, name, role, page_of(name, role), anchor, 1)
    for project, kind, name, page, anchor, display in OTHER:
        domain, role = kind.split(":")
        by_project[project][domain][name] = (
            name, name if display == "-" else display, role, page, anchor,
            -1 if domain == "std" else 1)
    written = []
    for project, entries in by_project.items():
        title, version = PROJECTS[project]
        domains = _Domains(**{
            name: SimpleNamespace(name=name, get_objects=lambda o=objects:
                                  sorted(o.values()))
            for name, objects in entries.items() if objects})
        env = SimpleNamespace(
            config=SimpleNamespace(project=title, version=version),
            domains=domains)
        # the "document name" is already the page's address
        builder = SimpleNamespace(get_target_uri=lambda docname: docname)
        path = folder / f"{project}.inv"
        InventoryFile.dump(path, env, builder)
        written.append(path)
    return written


class _Domains(dict):
    """The part of Sphinx's domain registry that ``InventoryFile.dump``
    reads: the domains in a stable order (``sorted()`` since Sphinx 8.2)."""

    def sorted(self):
        return [self[key] for key in sorted(self)]

    def __init__(self, **domains):
        super().__init__(domains)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="list the names and their addresses; write "
                             "nothing")
    args = parser.parse_args(argv)
    names = referenced_names()
    if args.check:
        for name in names:
            role = role_of(name)
            print(f"{project_of(name):8} py:{role:10} {name:50} "
                  f"{page_of(name, role)}")
        return 0
    for path in write_inventories(names):
        with open(path, "rb") as stream:
            inventory = InventoryFile.load(stream, "", lambda a, b: b)
        data = getattr(inventory, "data", inventory)  # type -> name -> item
        count = sum(len(objects) for objects in data.values())
        print(f"wrote {path.relative_to(ROOT)} ({count} names)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
