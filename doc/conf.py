"""Sphinx configuration for the sksm documentation.

Build (from the root of the checkout)::

    sphinx-build -W -b html doc doc/_build/html

The build needs no network access.  It runs every script of ``examples/``
(sphinx-gallery) with small settings (``SKSM_QUICK_EXAMPLES=1``, set below
unless already set; ``SKSM_QUICK_EXAMPLES=0 sphinx-build ...`` renders the
examples at the settings they have as scripts).  Links to other projects
(intersphinx) resolve from the small inventories in ``doc/_inventories``,
which ``python doc/make_inventories.py`` writes.
"""

import os
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent

# Document the checkout this file lives in, even if another sksm is installed.
sys.path.insert(0, str(DOC.parent))
sys.path.insert(0, str(DOC))

import sksm  # noqa: E402
from sksm._base import DOC_URL  # noqa: E402

import cli_page  # noqa: E402

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
    "sphinx.ext.intersphinx",
    "offline_math",  # doc/offline_math.py: formulas as MathML, no script
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# Formulas are converted to MathML when the pages are built (latex2mathml,
# in doc/offline_math.py), so that they render offline, without MathJax's
# script from a CDN.
html_math_renderer = "mathml"

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

# numpydoc: link the words of parameter types that name an object ("ndarray
# of shape (n_samples, n_features)" links ndarray), these words only.  Every
# target is in our pages or in doc/_inventories, so no link needs the network.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {
    # Python
    "None": ":data:`python:None`",
    "True": ":data:`python:True`",
    "False": ":data:`python:False`",
    "bool": ":class:`python:bool`",
    "boolean": ":class:`python:bool`",
    "int": ":class:`python:int`",
    "float": ":class:`python:float`",
    "str": ":class:`python:str`",
    "string": ":class:`python:str`",
    "list": ":class:`python:list`",
    "tuple": ":class:`python:tuple`",
    "dict": ":class:`python:dict`",
    "callable": ":func:`python:callable`",
    "iterable": ":term:`python:iterable`",
    "sequence": ":term:`python:sequence`",
    "generator": ":term:`python:generator`",
    "contextmanager": ":func:`python:contextlib.contextmanager`",
    "namedtuple": ":func:`python:collections.namedtuple`",
    "path-like": ":class:`path-like <os.PathLike>`",
    # NumPy
    "array": "numpy.ndarray",
    "ndarray": "numpy.ndarray",
    "np.ndarray": "numpy.ndarray",
    "array-like": ":term:`array-like <numpy:array_like>`",
    "array_like": ":term:`numpy:array_like`",
    "scalar": ":ref:`scalar <numpy:arrays.scalars>`",
    "dtype": "numpy.dtype",
    "RandomState": "numpy.random.RandomState",
    "np.random.RandomState": "numpy.random.RandomState",
    "Generator": "numpy.random.Generator",
    "np.inf": ":data:`numpy.inf`",
    "np.nan": ":data:`numpy.nan`",
    "numpy": ":mod:`numpy`",
    # sksm
    **{name: f"sksm.{name}" for name in (
        "RegularizedScoreMatchingPoE", "FieldsOfExperts", "GaussianRBM")},
    "ImagePrior": "sksm.posterior.ImagePrior",
    "Objective": "sksm.objectives.Objective",
    "Energy": "sksm.energies.Energy",
    "EnergyNetwork": "sksm.energies.EnergyNetwork",
    "MCMCResult": "sksm.sampling.MCMCResult",
    "AISResult": "sksm.sampling.AISResult",
}

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# doc/_templates/autosummary: Sphinx's pages for classes and functions, each
# followed by the gallery's examples that use the object (sphinx-gallery's
# minigallery, from the back-references it records).
templates_path = ["_templates"]

# -- Links to other projects (offline) ---------------------------------------

# The real base addresses, with the inventories read from local files: the
# build never fetches anything.  doc/make_inventories.py writes them from the
# names these pages reference and each project's address scheme.
_INVENTORIES = DOC / "_inventories"
intersphinx_mapping = {
    name: (url, str(_INVENTORIES / f"{name}.inv"))
    for name, url in {
        "python": "https://docs.python.org/3/",
        "numpy": "https://numpy.org/doc/stable/",
        "scipy": "https://docs.scipy.org/doc/scipy/",
        "sklearn": "https://scikit-learn.org/stable/",
        "pillow": "https://pillow.readthedocs.io/en/stable/",
        "dask": "https://docs.dask.org/en/stable/",
        "distributed": "https://distributed.dask.org/en/stable/",
        "dask_ml": "https://ml.dask.org/",
        "skimage": "https://scikit-image.org/docs/stable/",
    }.items()
}
intersphinx_timeout = 1

# -- The gallery -------------------------------------------------------------

# Small settings for the examples in the docs build (each example reads this
# variable); SKSM_QUICK_EXAMPLES=0 in the environment keeps their full ones.
os.environ.setdefault("SKSM_QUICK_EXAMPLES", "1")

sphinx_gallery_conf = {
    "examples_dirs": str(DOC.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "within_subsection_order": "FileNameSortKey",
    # links from the examples' code to the API pages, and "Examples using"
    # on them
    "doc_module": ("sksm",),
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "write_computation_times": False,
    "show_signature": False,
    "image_scrapers": ("matplotlib",),
    # the examples run two at a time (one per core of the machines we
    # build on): each is mostly one thread of NumPy
    "parallel": 2,
}

# -- The command line --------------------------------------------------------

# doc/generated/cli/*.txt: the help of every command, as ``sksm ... --help``
# prints it (doc/cli.rst includes them).
cli_page.write_help(DOC / "generated" / "cli")

# -- HTML output -------------------------------------------------------------

html_theme = "alabaster"
# Code blocks (the gallery's scripts, the command's help) are up to
# cli_page.COLUMNS = 80 characters wide; alabaster's default page (940px,
# a body of at most 800px) showed about 65 of them and cut the rest.  This
# page leaves 780px to the text of a code block (1100px less the 220px
# sidebar, the body's padding and the code block's, doc/_static/sksm.css),
# room for 84 characters of the code font (DejaVu Sans Mono or Menlo at
# 0.9 x 17px); tests/test_docs.py checks that no help line is longer.
html_theme_options = {"page_width": "1100px", "sidebar_width": "220px",
                      "body_max_width": "none"}
html_static_path = ["_static"]
html_css_files = ["sksm.css"]
html_title = f"sksm {release}"
html_baseurl = DOC_URL


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out of the class pages the ``set_fit_request`` methods that
    scikit-learn's metadata routing makes for a ``fit`` taking
    ``sample_weight``: their docstrings refer to scikit-learn's own docs (as
    the inherited members, they stay in the summary tables)."""
    if what == "class" and name.startswith("set_") and name.endswith(
            "_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
