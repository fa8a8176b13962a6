"""Sphinx configuration for the sksm documentation.

Build (from the root of the checkout)::

    sphinx-build -W -b html doc doc/_build/html

The build needs no network access: no intersphinx.
"""

import os
import sys

# Document the checkout this file lives in, even if another sksm is installed.
sys.path.insert(0, os.path.abspath(".."))

import sksm  # noqa: E402

# -- Project information -----------------------------------------------------

project = "sksm"
author = "the sksm developers"
copyright = "the sksm developers"
version = sksm.__version__
release = sksm.__version__

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]

# API pages are generated into doc/generated/ (git-ignored) by the
# ``:toctree: generated/`` option of the autosummary tables in api.rst.
autosummary_generate = True

# Document the public members (with docstrings) of every class on its page,
# in source order.  Members inherited from scikit-learn are listed in the
# summary tables only: their docstrings refer to scikit-learn's own docs.
autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"

# numpydoc: the autosummary class template already lists the members.
numpydoc_show_class_members = False

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# -- HTML output -------------------------------------------------------------

html_theme = "alabaster"
html_title = f"sksm {release}"
