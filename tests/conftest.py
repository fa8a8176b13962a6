"""Test settings shared by the test modules."""

import os

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the property tests skip themselves
    pass
else:
    # 'ci', the default: few examples, derandomised so that a run is
    # repeatable and its time bounded; 'dev' for a longer search
    # (HYPOTHESIS_PROFILE=dev python -m pytest tests/test_properties.py).
    settings.register_profile(
        "ci", max_examples=20, deadline=None, derandomize=True,
        database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow,
                               HealthCheck.data_too_large])
    settings.register_profile(
        "dev", max_examples=300, deadline=None,
        suppress_health_check=[HealthCheck.too_slow,
                               HealthCheck.data_too_large])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --------------------------------------------------------------------- #
# The two longest runs (the documentation build and the demo, about 90 s
# and 45 s, each a subprocess) start when the tests are collected and run
# beside the other tests; the tests that read them run last.
# --------------------------------------------------------------------- #
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: name -> ``(process, directory, stdout file, stderr file)`` of the runs
#: started in the background.
BACKGROUND = pytest.StashKey()


def _commands(directory):
    """name -> (command, working directory, the tests that read it)."""
    return {
        # warnings are errors, and every example runs even if an earlier
        # build left its results
        "docs": ([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html",
                  "-D", "sphinx_gallery_conf.run_stale_examples=1",
                  str(ROOT / "doc"), str(directory / "html")], ROOT,
                 lambda item: item.path.name == "test_docs.py"),
        # as the README runs it
        "demo": ([sys.executable, "-m", "sksm", "demo"], directory,
                 lambda item: item.name == "test_demo_runs_as_module"),
    }


def _reads_background(item):
    return any(reads(item) for _, _, reads in _commands(ROOT).values())


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=_reads_background)


def _start(name):
    directory = Path(tempfile.mkdtemp(prefix=f"sksm-{name}-"))
    command, cwd, _ = _commands(directory)[name]
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
    return process, directory, out, err


def pytest_collection_finish(session):
    runs = session.config.stash.setdefault(BACKGROUND, {})
    for name, (_, _, reads) in _commands(ROOT).items():
        if any(reads(item) for item in session.items):
            runs[name] = _start(name)


def background(config, name, timeout=900):
    """``(returncode, stdout, stderr, directory)`` of the background run
    ``name``, waiting for its end (started now if the collection did not)."""
    runs = config.stash.setdefault(BACKGROUND, {})
    if name not in runs:
        runs[name] = _start(name)
    process, directory, out, err = runs[name]
    process.wait(timeout=timeout)
    texts = []
    for f in (out, err):
        f.seek(0)
        texts.append(f.read().decode(errors="replace"))
    return process.returncode, texts[0], texts[1], directory


@pytest.fixture(scope="session")
def docs_site(request):
    """The html directory of the documentation, once its build has ended
    without a warning."""
    code, _, stderr, directory = background(request.config, "docs")
    assert code == 0, stderr[-5000:]
    return directory / "html"


@pytest.fixture(scope="session")
def demo_run(request):
    """``(returncode, stdout, stderr, working directory)`` of ``python -m
    sksm demo``."""
    return background(request.config, "demo", timeout=300)


def pytest_sessionfinish(session):
    for process, directory, out, err in session.config.stash.get(
            BACKGROUND, {}).values():
        if process.poll() is None:       # the run ended before its tests
            process.kill()
            process.wait()
        out.close()
        err.close()
        shutil.rmtree(directory, ignore_errors=True)
