"""The project's promises to a new user: README commands, CI, the demo."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.*?)\n```", section, flags=re.S)


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one():
    install_demo, install_test = _readme_commands()
    assert install_demo.strip().endswith("sksm demo")
    assert "pytest" in install_test
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install_test.strip() in [line.strip() for line in ci_lines]


def test_demo_runs_as_module(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sksm", "demo"],  # as the README runs it
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "<- best" in result.stdout
    assert "expert activations" in result.stdout
    assert "ConvergenceWarning" not in result.stderr
    before, after = (float(re.search(rf"PSNR {name}: +([0-9.]+) dB",
                                     result.stdout).group(1))
                     for name in ("noisy", "denoised"))
    assert after > before + 5
    for name in ("clean", "noisy", "denoised"):
        assert (tmp_path / "sksm-demo" / f"flower_{name}.png").is_file()


def test_unknown_command_exits_with_usage_error():
    from sksm.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def _readme_snippets():
    """The Python blocks of README.md, in order."""
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _run_alone(code):
    """Run one README snippet in a namespace of its own (a reader pastes
    it into a fresh interpreter)."""
    namespace = {"__name__": "__main__"}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_readme_has_two_snippets_each_tested_alone():
    """Issue 27: the second snippet used ``np`` without importing it; the
    two tests below run each snippet on its own, so a new snippet needs a
    test of its own too."""
    assert len(_readme_snippets()) == 2


def test_readme_quickstart_runs(capsys):
    """The README's first Python block as it is, alone, without a warning
    (issue 15, part 5: it printed ten ConvergenceWarnings), and saying
    what it does while it runs (issue 27: nothing for 46 s)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        namespace = _run_alone(_readme_snippets()[0])
    assert namespace["features"].shape == (1797, 256)  # 2 x 128 experts
    assert namespace["clean"].shape == (1797, 64)
    out = capsys.readouterr().out
    assert out.count("[CV] END") == 12, out  # a line per fit
    assert f"best: {namespace['search'].best_params_}" in out


def test_readme_restoration_example_runs():
    namespace = _run_alone(_readme_snippets()[1])
    psnr, photo = namespace["psnr"], namespace["photo"]
    # measured +12.4 dB on this ramp
    assert psnr(photo, namespace["restored"]) > \
        psnr(photo, namespace["noisy"]) + 5


#: import name -> distribution name of the runtime dependencies
_DISTRIBUTIONS = {"numpy": "numpy", "scipy": "scipy", "sklearn": "scikit-learn",
                  "PIL": "pillow", "joblib": "joblib",
                  "threadpoolctl": "threadpoolctl"}


def _project():
    """The ``[project]`` table of pyproject.toml."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _distributions(specs):
    """The distribution names of requirement strings, lower case."""
    return {re.split(r"[<>=!~ \[;]", spec)[0].lower() for spec in specs}


def test_every_module_level_import_is_a_declared_dependency():
    """Issue 27: what sksm imports when it is imported is declared (optional
    packages are imported inside functions, from the extras)."""
    import ast

    stdlib = set(sys.stdlib_module_names)
    imported = set()
    for path in (ROOT / "sksm").rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                imported.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - stdlib - {"sksm"}
    assert third_party <= set(_DISTRIBUTIONS), third_party
    declared = _distributions(_project()["dependencies"])
    assert {_DISTRIBUTIONS[name] for name in third_party} <= declared


def test_the_licence_file_is_declared_and_is_the_bsd_3_clause_text():
    """Issue 27: the metadata's licence and the file that ships with it
    (setuptools puts ``license-files`` in the wheel's and the sdist's
    metadata; checked by building both when this was written)."""
    project = _project()
    assert project["license"] == "BSD-3-Clause"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Neither the name of the copyright holder" in text


def test_the_doc_extra_installs_what_the_gallery_imports():
    """Issue 27: ``pip install ".[doc]"`` then the documented sphinx-build
    runs every example, so the ``doc`` extra holds every package they
    import (the build once stopped on ``import dask.array``).  An import in
    a ``try`` that catches ``ImportError`` is optional (bm3d: the example
    runs without it), and is left out."""
    import ast

    project = _project()
    extra = _distributions(project["optional-dependencies"]["doc"]
                           + project["dependencies"])
    names = {"sklearn": "scikit-learn", "PIL": "pillow",
             "skimage": "scikit-image"}
    for path in (ROOT / "examples").glob("*.py"):
        tree = ast.parse(path.read_text())
        optional = {id(inner) for node in ast.walk(tree)
                    if isinstance(node, ast.Try) and any(
                        isinstance(h.type, ast.Name) and h.type.id in (
                            "ImportError", "ModuleNotFoundError")
                        for h in node.handlers)
                    for statement in node.body
                    for inner in ast.walk(statement)}
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                modules = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module.split(".")[0]]
            else:
                continue
            for module in set(modules) - set(sys.stdlib_module_names) - {
                    "sksm"}:
                assert names.get(module, module).lower() in extra, (
                    path.name, module)


def test_project_urls_point_to_the_published_documentation():
    """Issue 27: the metadata links to the site that the estimators' HTML
    repr links to (``sksm._base.DOC_URL``)."""
    from sksm._base import DOC_URL

    urls = _project()["urls"]
    assert urls["Documentation"] == DOC_URL
    assert urls["Changelog"] == DOC_URL + "changelog.html"
    assert (ROOT / "doc" / "changelog.rst").is_file()


def test_read_the_docs_builds_the_doc_extra_with_doc_conf():
    """Issue 27: ``.readthedocs.yaml`` (the publishing of DOC_URL) is a
    version-2 configuration that installs sksm with its ``doc`` extra and
    builds doc/conf.py, warnings as errors.  PyYAML comes with Dask."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text())
    assert config["version"] == 2
    assert config["build"]["os"].startswith("ubuntu-")
    python = str(config["build"]["tools"]["python"])
    assert tuple(map(int, python.split("."))) >= (3, 10)
    [install] = config["python"]["install"]
    assert install["method"] == "pip" and install["path"] == "."
    assert install["extra_requirements"] == ["doc"]
    assert "doc" in _project()["optional-dependencies"]
    assert (ROOT / config["sphinx"]["configuration"]).is_file()
    assert config["sphinx"]["configuration"] == "doc/conf.py"
    assert config["sphinx"]["fail_on_warning"] is True


def test_the_sdist_ships_what_the_tests_read():
    """Issue 27: every file or folder at the root that a test reads is in
    MANIFEST.in (setuptools adds the package, pyproject.toml and
    MANIFEST.in itself),
    so the tests run from an unpacked sdist.  Checked by building one when
    this was written: ``python -m build --sdist``."""
    read = set()
    for path in (ROOT / "tests").glob("*.py"):
        read.update(re.findall(r'ROOT / "([\w.-]+)"', path.read_text()))
    shipped = {"sksm", "pyproject.toml", "MANIFEST.in"}
    for line in (ROOT / "MANIFEST.in").read_text().splitlines():
        words = line.split("#")[0].split()
        if words and words[0] in ("include", "graft"):
            shipped.update(words[1:])
    assert read, "no test reads a file of the checkout?"
    assert read <= shipped, sorted(read - shipped)
    assert {"README.md", "LICENSE", "CITATION.cff"} <= shipped


def test_ci_tests_the_floor_of_every_dependency():
    """Issue 27: .ci/run's second environment installs the lower bound of
    every runtime dependency of pyproject.toml (.ci/floor-constraints.txt
    pins each to its floor's minor version), after the README's test
    command."""
    floors = {}
    for spec in _project()["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)(,.*)?", spec)
        assert match, f"no lower bound in {spec!r}"
        floors[match.group(1).lower()] = match.group(2)
    pinned = {}
    for line in (ROOT / ".ci" / "floor-constraints.txt").read_text(
            ).splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pinned[name.lower()] = version
        elif line:  # a bound on a package of the test extras only
            assert re.split(r"[<>=!~ ]", line)[0].lower() not in floors, line
    assert set(pinned) == set(floors)
    for name, floor in floors.items():
        # "1.24" allows 1.24.0 on; the environment takes the newest 1.24.x
        assert pinned[name] == floor + ".*", (name, floor, pinned[name])
    run = (ROOT / ".ci" / "run").read_text()
    readme_command = _readme_commands()[1].strip()
    assert "-c .ci/floor-constraints.txt" in run
    assert run.index(readme_command) < run.index(".venv-floor")
