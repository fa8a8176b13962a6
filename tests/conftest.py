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
# The documentation build runs beside the other tests
# --------------------------------------------------------------------- #
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: ``(process, html directory, stderr file)`` of the documentation build
#: started when test_docs.py's tests are collected (see ``docs_build``).
DOCS_BUILD = pytest.StashKey()


def docs_command(out):
    """The documentation build into ``out``: warnings are errors, and every
    example runs even if an earlier build left its results."""
    return [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html",
            "-D", "sphinx_gallery_conf.run_stale_examples=1",
            str(ROOT / "doc"), str(out)]


def pytest_collection_modifyitems(session, config, items):
    # the documentation's tests last, so that its build (about 90 s, a
    # subprocess) runs while the other tests do
    items.sort(key=lambda item: item.path.name == "test_docs.py")


def _start_docs_build():
    out = Path(tempfile.mkdtemp(prefix="sksm-docs-")) / "html"
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(docs_command(out), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=log)
    return process, out, log


def pytest_collection_finish(session):
    if any(item.path.name == "test_docs.py" for item in session.items):
        session.config.stash[DOCS_BUILD] = _start_docs_build()


@pytest.fixture(scope="session")
def docs_site(request):
    """The html directory of the documentation, once its build has ended
    without a warning."""
    build = request.config.stash.get(DOCS_BUILD, None)
    if build is None:
        build = request.config.stash[DOCS_BUILD] = _start_docs_build()
    process, out, log = build
    process.wait(timeout=900)
    log.seek(0)
    stderr = log.read().decode(errors="replace")
    assert process.returncode == 0, stderr[-5000:]
    return out


def pytest_sessionfinish(session):
    build = session.config.stash.get(DOCS_BUILD, None)
    if build is not None:
        process, out, log = build
        if process.poll() is None:       # the run ended before its tests
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(out.parent, ignore_errors=True)
