"""The help of the ``sksm`` command, written for doc/cli.rst.

``write_help(folder)`` writes ``sksm.txt`` (``sksm --help``) and one
``<command>.txt`` per sub-command (``sksm <command> --help``), exactly as
the command prints them in a terminal :data:`COLUMNS` wide, the width that
the pages show whole (doc/conf.py sizes them for it).  doc/conf.py calls it
at every build, so the page cannot fall behind the parser.
"""

import os
import re
from pathlib import Path
from unittest import mock

from sksm.cli import build_parser

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: The terminal width the help is written for; argparse wraps its text two
#: columns short of it, and no line of the help may be longer than it.
COLUMNS = 80


def sub_commands(parser):
    """The sub-command parsers of ``parser``, by name, in their order."""
    for action in parser._actions:
        if action.choices and hasattr(action, "_name_parser_map"):
            return dict(action.choices)
    return {}


def write_help(folder):
    """Write the help texts into ``folder``; return the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # argparse wraps at the terminal width (COLUMNS); Python 3.14 colours
    # help on a terminal (NO_COLOR).
    with mock.patch.dict(os.environ, {"COLUMNS": str(COLUMNS),
                                      "NO_COLOR": "1"}):
        parser = build_parser()
        texts = {"sksm": parser.format_help()}
        for name, sub in sub_commands(parser).items():
            texts[name] = sub.format_help()
    written = []
    for name, text in texts.items():
        path = folder / f"{name}.txt"
        text = _ANSI.sub("", text)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written
