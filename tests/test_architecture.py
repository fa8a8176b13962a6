"""The layout's invariants (issue 25, ../shared/STYLE.md): imports run one way,
rooms stay small, estimators stay thin, numerics never see an estimator."""

import ast
from pathlib import Path

import pytest

import sksm

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(sksm.__file__).resolve().parent
MODULES = sorted(PACKAGE.rglob("*.py"))
ESTIMATORS = ("poe.py", "foe.py", "rbm.py")
#: Imports that may wait inside a function: the optional dependencies.
OPTIONAL = ("dask", "distributed", "dask_ml", "tqdm", "tifffile",
            "imagecodecs", "mlxtend", "matplotlib")


def _name(path):
    return path.relative_to(PACKAGE.parent).as_posix()


def _code_lines(tree, text):
    """Lines that are neither blank, comments nor docstrings."""
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                             ast.AsyncFunctionDef)) and ast.get_docstring(
                node, clean=False) is not None:
            first = node.body[0]
            docs.update(range(first.lineno, first.end_lineno + 1))
    return sum(1 for number, line in enumerate(text.splitlines(), 1)
               if line.strip() and not line.strip().startswith("#")
               and number not in docs)


def _layers():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = [c for c in contracts if c["type"] == "layers"]
    assert len(layers) == 1
    return [[name.strip() for name in layer.split("|")]
            for layer in layers[0]["layers"]]


def test_the_import_contract_is_kept():
    """lint-imports on the package, as a future change would meet it."""
    importlinter = pytest.importorskip("importlinter.cli")
    assert importlinter.lint_imports(
        config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
        no_logo=True) == 0


def test_every_room_has_a_layer():
    """A new module cannot escape the contract: every top-level module and
    package of sksm (but the entry point) is in one layer."""
    listed = {name for layer in _layers() for name in layer}
    rooms = {f"sksm.{p.stem}" for p in PACKAGE.glob("*.py")
             if p.stem not in ("__init__", "__main__")}
    rooms |= {f"sksm.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    assert rooms - listed == set()
    assert listed - rooms == set()


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_rooms_stay_small(path):
    """No module over about 500 lines; an estimator module, half of it
    numpydoc, at most 300 lines of code and 800 in all."""
    text = path.read_text()
    tree = ast.parse(text)
    n_lines = len(text.splitlines())
    if path.parent == PACKAGE and path.name in ESTIMATORS:
        assert _code_lines(tree, text) <= 300
        assert n_lines <= 800
    else:
        assert n_lines <= 510


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_imports_inside_functions_are_optional_dependencies(path):
    """An import inside a function hides a dependency from the contract: it
    is allowed for an optional dependency only."""
    tree = ast.parse(path.read_text())
    hidden = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            else:
                continue
            hidden += [n for n in names if n.split(".")[0] not in OPTIONAL]
    assert hidden == []


#: The rooms below the estimators and beside them that take models: the
#: public fitted attributes and parameters only.
CALLERS = [p for p in MODULES if p.parent != PACKAGE
           or p.name not in ESTIMATORS + ("_base.py", "_experts_base.py",
                                          "_density.py")]


@pytest.mark.parametrize("path", CALLERS, ids=_name)
def test_no_module_calls_a_private_method_of_an_estimator(path):
    """``model._x(...)``, ``estimator._x(...)``: the estimator's insides
    stay its own (scikit-learn's ``_validate_params`` is scikit-learn's)."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("model", "estimator", "est")
                and node.func.attr.startswith("_")
                and not node.func.attr.startswith("__")
                and node.func.attr != "_validate_params"):
            calls.append(f"{node.func.value.id}.{node.func.attr}")
    assert calls == []


@pytest.mark.parametrize("room", ["posterior", "energies", "objectives",
                                  "optim", "sampling", "_dask"])
def test_numerics_take_no_estimator(room):
    """The numerics take arrays, numbers and energies: no parameter of
    theirs is called model or estimator."""
    paths = ([PACKAGE / f"{room}.py"] if (PACKAGE / f"{room}.py").exists()
             else sorted((PACKAGE / room).glob("*.py")))
    named = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                named += [f"{path.name}:{node.name}({a.arg})"
                          for a in node.args.args + node.args.kwonlyargs
                          if a.arg in ("model", "estimator", "est")]
    assert named == []


def test_denoising_input_is_checked_in_one_file():
    """Every check that a restoration makes, whichever door it came
    through, is called from sksm/restoration/_policy.py."""
    checks = ("check_image", "check_sigma", "check_unit_range", "check_mask",
              "estimate_sigma")
    callers = set()
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in checks):
                callers.add(_name(path))
    # the others check what is theirs: files, the command line's units,
    # the rows of estimators, the PoE's rows and the noise estimate itself
    assert "sksm/restoration/_policy.py" in callers
    assert not callers & {"sksm/foe.py", "sksm/restoration/__init__.py",
                          "sksm/posterior/_denoise.py", "sksm/cluster.py",
                          "sksm/_dask.py"}



@pytest.mark.parametrize("name", ESTIMATORS)
def test_estimators_hold_no_numerics(name):
    """No solver, sparse matrix or FFT in an estimator module: those live in
    the rooms below (optim, posterior, energies)."""
    text = (PACKAGE / name).read_text()
    for numerics in ("scipy.sparse", "scipy.optimize", "scipy.signal",
                     "np.fft", "numpy.fft", "scipy.fft", "lbfgs(",
                     "minimize("):
        assert numerics not in text, numerics
