"""The documentation builds offline without a warning, runs the gallery, and
holds every figure and every public name (issue 17).

The site is built once for this module (about 40 s, most of it the examples,
which the build runs with small settings: doc/conf.py).  The examples are
not run again as scripts: the build executes every line of them, and an
error in one fails it; their full settings differ only in sizes.
"""

import html
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sksm

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("plot_*.py"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs") / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-j", "auto", "-b",
         "html",
         # run every example, even if an earlier build left its results
         "-D", "sphinx_gallery_conf.run_stale_examples=1",
         str(ROOT / "doc"), str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-5000:]
    return out


def _read(path):
    return path.read_text(encoding="utf-8")


def test_docs_build_offline_without_warnings(site):
    for page in ("index", "install", "user_guide", "api", "cli",
                 "changelog", "auto_examples/index"):
        assert (site / f"{page}.html").exists(), page


def test_every_page_is_in_the_table_of_contents(site):
    index = _read(site / "index.html")
    for page in ("install", "user_guide", "auto_examples/index", "api",
                 "cli", "changelog"):
        assert f'href="{page}.html"' in index, page


@pytest.mark.parametrize("name", EXAMPLES)
def test_gallery_page_holds_the_example_figures(site, name):
    page = site / "auto_examples" / f"{name}.html"
    text = _read(page)
    images = re.findall(rf'src="\.\./(_images/sphx_glr_{name}_\d+\.png)"',
                        text)
    assert images, f"{name} drew no figure in the docs build"
    for image in images:
        path = site / image
        assert path.is_file(), image
        assert path.stat().st_size > 10_000, image  # not a blank canvas
        assert _read_png_size(path) >= (300, 200), image
    # the gallery's front page shows its thumbnail
    index = _read(site / "auto_examples" / "index.html")
    thumb = f"_images/sphx_glr_{name}_thumb.png"
    assert thumb in index and (site / thumb).is_file()


#: The examples of issue 27 and the figures each draws: comparisons with
#: other methods, and the Gaussian RBM.
COMPARISONS = {"plot_restoration_comparison": 2,
               "plot_inpaint_super_resolution": 2, "plot_gaussian_rbm": 1}


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_each_comparison_example_has_its_page_and_figures(site, name):
    assert name in EXAMPLES, f"examples/{name}.py is gone"
    text = _read(site / "auto_examples" / f"{name}.html")
    images = set(re.findall(rf"_images/sphx_glr_{name}_\d+\.png", text))
    assert len(images) == COMPARISONS[name], sorted(images)


def test_front_page_shows_a_gallery_figure(site):
    text = _read(site / "index.html")
    images = re.findall(
        r'<img[^>]+src="(_images/sphx_glr_plot_\w+?_\d+\.png)"', text)
    assert images, "the front page shows no figure"
    for image in images:
        path = site / image
        assert path.is_file() and path.stat().st_size > 10_000, image
        assert _read_png_size(path) >= (300, 200), image


def test_printed_best_lambdas_and_psnrs_are_those_of_the_data(site):
    """The curves' best lambdas are computed from the fits the figure draws
    (the MNIST caption once claimed 0.6 for a curve lowest at 2.0), and the
    denoising comparison prints every method's PSNR at every level."""
    def output(name):
        return html.unescape(_read(site / "auto_examples" / f"{name}.html"))

    text = output("plot_mnist_poe")
    found = re.search(r"highest test log-likelihood at lambda ([\d.]+), "
                      r"lowest error at lambda ([\d.]+)", text)
    assert found, "plot_mnist_poe prints no best lambda"
    rows = dict(re.findall(r"lambda ([\d.]+): test log-likelihood "
                           r"(-?[\d.]+), error", text))
    errors = dict(re.findall(r"lambda ([\d.]+): test log-likelihood "
                             r"-?[\d.]+, error ([\d.]+) %", text))
    assert max(rows, key=lambda lam: float(rows[lam])) == found.group(1)
    assert min(errors, key=lambda lam: float(errors[lam])) == found.group(2)
    text = output("plot_restoration_comparison")
    for method in ("sksm (noise-conditional)", "sksm (Student-t)",
                   "non-local means", "TV"):
        assert len(re.findall(rf"{re.escape(method)} +[\d.]+ dB", text)) >= 3


def _read_png_size(path):
    """(width, height) from the PNG header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return (int.from_bytes(header[16:20], "big"),
            int.from_bytes(header[20:24], "big"))


#: The figures that explain a section of the user guide: the filters and
#: curves against lambda, a restoration and its comparisons with other
#: methods, the Gaussian RBM, samples.  (The guide links the two-layer
#: energy's and the Dask example's pages.)
GUIDE_FIGURES = {"plot_mnist_poe", "plot_foe_denoising", "plot_sampling",
                 "plot_restoration_comparison",
                 "plot_inpaint_super_resolution", "plot_gaussian_rbm"}


def test_user_guide_shows_the_gallery_figures_with_their_commands(site):
    text = _read(site / "user_guide.html")
    shown = set(re.findall(r'src="(_images/sphx_glr_(plot_\w+?)_\d+\.png)"',
                           text))
    assert {name for _, name in shown} == GUIDE_FIGURES
    for name in EXAMPLES:  # and links every example's page
        assert f'href="auto_examples/{name}.html' in text, name
    for image, name in shown:
        assert (site / image).is_file(), image
        # the command that regenerates the figure is named in its caption
        after = text[text.index(image):]
        caption = after[:after.index("</figure>")]
        assert f"python examples/{name}.py" in html.unescape(
            re.sub(r"<[^>]+>", "", caption)), name


def _public_names():
    """(qualified name, object) for every name in the ``__all__`` of every
    public module of sksm."""
    modules = ["sksm"] + [
        info.name for info in pkgutil.walk_packages(sksm.__path__, "sksm.")
        if not any(part.startswith("_") for part in info.name.split("."))]
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            yield f"{module_name}.{name}", getattr(module, name)


def test_every_public_name_is_documented(site):
    """Every name exported by a public module has an entry in the API
    reference, under that name or under another public name of the same
    object (``sksm.energies.Conv2D`` documents ``sksm.energies.conv.Conv2D``).
    """
    anchors = set()
    for page in site.rglob("*.html"):
        anchors.update(re.findall(r'<dt class="sig[^"]*" id="(sksm[\w.]*)"',
                                  _read(page)))
    names = list(_public_names())
    homes = {}
    for qualified, obj in names:
        homes.setdefault(id(obj), set()).add(qualified)
    missing = sorted(qualified for qualified, obj in names
                     if not homes[id(obj)] & anchors)
    assert not missing, f"not in the API reference: {missing}"
    assert len(names) > 60


def test_api_pages_show_the_examples_that_use_them(site):
    page = _read(site / "generated" / "sksm.RegularizedScoreMatchingPoE.html")
    assert "Examples using" in page
    for name in ("plot_mnist_poe", "plot_sampling"):
        assert f'href="../auto_examples/{name}.html' in page, name


def test_documented_constants_have_their_values(site):
    text = html.unescape(re.sub(r"<[^>]+>", "", _read(site / "api.html")))
    from sksm.poe import MAX_EXPERT_WEIGHT, MIN_EXPERT_WEIGHT

    from sksm import posterior
    from sksm.posterior import AUTO_FRACTION, PRIOR_WEIGHTS

    fill = tuple((f"sksm.posterior.{name}", getattr(posterior, name))
                 for name in ("FILL_LEVELS", "FILL_STEPS", "FILL_STEP",
                              "FILL_OVERLAP", "INPAINT_OVERLAP",
                              "INPAINT_FIRST_LEVELS", "DECONVOLVE_SCHEDULE",
                              "SUPER_RESOLVE_SCHEDULE", "SUPER_RESOLVE_SIGMA",
                              "INVERSE_OVERLAP", "STABILISED_LEVEL"))
    for name, value in fill + (
            ("sksm.poe.MIN_EXPERT_WEIGHT", MIN_EXPERT_WEIGHT),
            ("sksm.poe.MAX_EXPERT_WEIGHT", MAX_EXPERT_WEIGHT),
            ("sksm.experts.DEFAULT_C", sksm.DEFAULT_C),
            ("sksm.posterior.AUTO_FRACTION", AUTO_FRACTION),
            ("sksm.posterior.PRIOR_WEIGHTS", PRIOR_WEIGHTS)):
        assert re.search(rf"{re.escape(name)}\s*=\s*{re.escape(repr(value))}",
                         text), name
    assert "Convert a string or number" not in text  # float's docstring


def test_api_reference_has_a_page_for_each_estimator_html_link(site):
    from sksm._base import DOC_URL

    for name in sksm.__all__:
        cls = getattr(sksm, name)
        if inspect.isclass(cls) and hasattr(cls, "_get_doc_link"):
            link = cls()._get_doc_link()
            assert link.startswith(DOC_URL)
            assert (site / link[len(DOC_URL):]).is_file(), link


def test_links_to_other_projects_resolve_offline(site):
    text = "".join(_read(page) for page in (
        site / "user_guide.html", site / "auto_examples" /
        "plot_mnist_poe.html", site / "generated" / "sksm.io.save_model.html",
        site / "generated" / "sksm.RegularizedScoreMatchingPoE.html"))
    for url in (("https://scikit-learn.org/stable/modules/generated/"
                 "sklearn.pipeline.Pipeline.html"),
                ("https://docs.scipy.org/doc/scipy/reference/generated/"
                 "scipy.optimize.minimize.html"),
                # numpydoc's parameter types
                ("https://numpy.org/doc/stable/reference/generated/"
                 "numpy.ndarray.html"),
                "https://numpy.org/doc/stable/glossary.html#term-array_like",
                "https://docs.python.org/3/library/",
                ("https://pillow.readthedocs.io/en/stable/reference/"
                 "Image.html#PIL.Image.open")):
        assert f'href="{url}' in text, url


def test_inventories_are_up_to_date():
    """doc/_inventories holds every outside name the sources reference
    (``python doc/make_inventories.py`` rewrites them)."""
    sys.path.insert(0, str(ROOT / "doc"))
    try:
        import make_inventories
    finally:
        sys.path.remove(str(ROOT / "doc"))
    from sphinx.util.inventory import InventoryFile

    stored = set()
    for path in (ROOT / "doc" / "_inventories").glob("*.inv"):
        with open(path, "rb") as stream:
            inventory = InventoryFile.load(stream, "", lambda a, b: b)
        for objects in getattr(inventory, "data", inventory).values():
            stored.update(objects)
    in_sources = {name for name in make_inventories.referenced_names()
                  if name not in make_inventories.gallery_names()}
    assert in_sources <= stored, sorted(in_sources - stored)


def test_cli_page_shows_every_option(site):
    from sksm.cli import build_parser

    text = html.unescape(re.sub(r"<[^>]+>", "", _read(site / "cli.html")))
    parser = build_parser()
    for action in parser._actions:
        for sub in getattr(action, "choices", None) or {}:
            if not isinstance(action.choices, dict):
                continue
            assert f"sksm {sub}" in text
            for option in action.choices[sub]._actions:
                for string in option.option_strings:
                    assert string in text, (sub, string)
    assert "--version" in text


def _doc_module(name):
    """Import a helper module of doc/ (``cli_page``, ``offline_math``)."""
    sys.path.insert(0, str(ROOT / "doc"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "doc"))


def test_formulas_are_mathml_written_at_build_time(site):
    """Issue 27: formulas were typeset by MathJax from a CDN, raw LaTeX
    offline; the pages now hold MathML (doc/offline_math.py) and load no
    script from another site."""
    for page in site.rglob("*.html"):
        text = _read(page)
        assert not re.search(r'<script[^>]*src="(https?:)?//', text), page
        # no MathJax script or configuration (the changelog may name it)
        assert not re.search(r"<script[^>]*>[^<]*mathjax|<script[^>]*"
                             r"mathjax", text, flags=re.I), page
    guide = _read(site / "user_guide.html")
    # the energy of "The model", as a displayed formula
    energy = re.search(r'<math alttext="E\(x\) = \\sum_\{i=1\}\^\{M\} '
                       r'\\alpha_i[^"]*"[^>]*display="block">(.*?)</math>',
                       guide, flags=re.S)
    assert energy, "the energy of the user guide is not MathML"
    body = energy.group(1)
    assert "<munderover><mo>&#x02211;</mo>" in body  # the sum and its limits
    assert "<mfrac>" in body and "<msub><mi>&#x003B1;</mi><mi>i</mi>" in body
    # no LaTeX is left in what the page shows (only in the alttext)
    shown = re.sub(r'alttext="[^"]*"', "", guide)
    for command in (r"\frac", r"\sum", r"\alpha", r"\lambda"):
        assert command not in shown, command
    assert guide.count("<math ") > 50


def test_a_formula_mathml_cannot_show_fails_the_build():
    """A formula latex2mathml would leave half converted is an error (a
    build warning, under -W), not a page showing ``\\foo``."""
    offline_math = _doc_module("offline_math")
    mathml = offline_math.to_mathml(r"\arg\max_x \text{a\_b} + \tfrac12",
                                    "inline")
    assert mathml.startswith('<math alttext="\\arg\\max_x')
    assert "\\" not in re.sub(r'alttext="[^"]*"', "", mathml)
    assert "<mtext>a_b</mtext>" in mathml
    for latex in (r"\unknowncommand x", r"a &= b", r"a \\ b"):
        with pytest.raises(offline_math.MathConversionError):
            offline_math.to_mathml(latex, "block")


def test_cli_help_fits_the_page(site):
    """Issue 27: the help blocks were cut at about 68 columns by the theme's
    page width; they are written for cli_page.COLUMNS, and doc/conf.py
    makes the page that wide."""
    columns = _doc_module("cli_page").COLUMNS
    text = _read(site / "cli.html")
    blocks = re.findall(r"<pre>(.*?)</pre>", text, flags=re.S)
    assert len(blocks) >= 6  # sksm and its five commands
    for block in blocks:
        for line in html.unescape(re.sub(r"<[^>]+>", "", block)).splitlines():
            assert len(line) <= columns, line
    # and a code block's text is that wide: the page less the sidebar and
    # the paddings, over the advance of a character of the code font
    # (0.6 em in DejaVu Sans Mono and Menlo)
    css = _read(site / "_static" / "alabaster.css") + _read(
        site / "_static" / "sksm.css")

    def number(pattern):
        return float(re.search(pattern, css, flags=re.S).group(1))

    text_width = (number(r"div\.document \{\s*width: (\d+)px")
                  - number(r"div\.sphinxsidebar \{\s*width: (\d+)px")
                  - 2 * number(r"div\.body \{[^}]*padding: 0 (\d+)px")
                  - 2 * number(r"div\.body pre \{\s*padding: \d+px (\d+)px"))
    font = (number(r"(?m)^body \{[^}]*font-size: (\d+)px")
            * number(r"pre, tt, code \{[^}]*font-size: ([\d.]+)em"))
    assert text_width >= columns * 0.6 * font, (text_width, font)
