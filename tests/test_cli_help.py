"""The ``sksm`` command describes itself: help and default for every option,
``--version`` (issue 17)."""

import argparse
import subprocess
import sys

import pytest

import sksm
from sksm.cli import build_parser


def _parsers():
    parser = build_parser()
    yield "sksm", parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub


PARSERS = dict(_parsers())


def test_every_command_is_listed():
    assert set(PARSERS) == {"sksm", "denoise", "deblur", "super-resolve",
                            "inpaint", "train", "demo"}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_option_has_help_and_names_its_default(name):
    parser = PARSERS[name]
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction,
                               argparse._SubParsersAction)):
            continue
        label = "/".join(action.option_strings) or action.dest
        assert action.help, f"sksm {name} {label} has no help text"
        if not action.option_strings:
            continue  # a positional argument: no default
        text = formatter._expand_help(action)
        if action.required:
            assert "required" in text, (name, label, text)
            continue
        assert "default" in text, (name, label, text)
        if action.default is not None and not isinstance(action.default,
                                                         bool):
            assert str(action.default) in text, (name, label, text)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_the_printed_help_shows_the_defaults(name, capsys):
    from sksm.cli import main

    argv = ["--help"] if name == "sksm" else [name, "--help"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: sksm")
    if name != "sksm":
        assert "(default:" in " ".join(out.split())


def test_version_is_the_package_version():
    result = subprocess.run([sys.executable, "-m", "sksm", "--version"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == f"sksm {sksm.__version__}"


def test_the_package_version_is_the_distribution_version():
    """``sksm --version`` prints ``sksm.__version__``; it must be the
    version in pyproject.toml, which pip installs."""
    from pathlib import Path

    try:
        import tomllib
    except ImportError:  # Python 3.10
        pytest.skip("tomllib needs Python 3.11")
    root = Path(__file__).resolve().parents[1]
    with open(root / "pyproject.toml", "rb") as f:
        assert tomllib.load(f)["project"]["version"] == sksm.__version__
