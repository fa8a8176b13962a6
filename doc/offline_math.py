"""Formulas written into the HTML pages as MathML when the pages are built.

Sphinx's default math renderer (MathJax) leaves the LaTeX in the page and
loads a script from a CDN to typeset it, so a page read offline shows raw
LaTeX.  This extension converts every formula (``:math:`` and
``.. math::``) to MathML with latex2mathml (pure Python) during the build;
browsers render MathML themselves, and the pages load no script for it.

A formula that latex2mathml cannot convert (an unknown command, an
alignment ``&`` or a line break ``\\\\``, which MathML in browsers does not
break) is a build warning, an error under ``-W``, and the page shows its
LaTeX as code: a formula is never shown half converted.  Commands that
latex2mathml lacks are rewritten first (:data:`REWRITES`).

Enabled in doc/conf.py by listing ``"offline_math"`` in ``extensions`` and
setting ``html_math_renderer = "mathml"``.
"""

import html
import re

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

#: LaTeX commands that latex2mathml does not know, and what to write
#: instead (applied before conversion, to whole command names only).
REWRITES = {
    r"\arg": r"\operatorname{arg}",
}

_REWRITE = re.compile("|".join(re.escape(name) + r"(?![A-Za-z])"
                               for name in REWRITES))

# What a failed conversion leaves in latex2mathml's output: a backslash (a
# command it did not know, written as an identifier ``<mi>\name</mi>``)
# or a bare ampersand (an alignment point).
_LEFTOVER = re.compile(r"\\[A-Za-z]*|&(?!#x[0-9A-Fa-f]+;|[a-z]+;)")

# latex2mathml keeps the escapes of ``\text{...}`` as they are written.
_TEXT = re.compile(r"<mtext>(.*?)</mtext>", flags=re.S)
_TEXT_ESCAPE = re.compile(r"\\([_%#$&{}])")


class MathConversionError(ValueError):
    """A formula that cannot be written as MathML."""


def to_mathml(latex, display):
    """Convert one formula to a ``<math>`` element.

    Parameters
    ----------
    latex : str
        The formula, without ``$`` delimiters.
    display : {"inline", "block"}
        How the formula is laid out.

    Returns
    -------
    mathml : str
        The ``<math>`` element, with the LaTeX as its ``alttext``.

    Raises
    ------
    MathConversionError
        If the formula holds an alignment, a line break or a command that
        latex2mathml does not know.
    """
    source = latex.strip()
    if r"\\" in source:
        raise MathConversionError(
            "a line break (\\\\) in a formula: MathML in browsers does not "
            "break lines; write one formula per '.. math::' paragraph "
            "(separated by a blank line)")
    rewritten = _REWRITE.sub(lambda m: REWRITES[m.group(0)], source)
    try:
        mathml = convert(rewritten, display=display)
    except Exception as exc:  # latex2mathml raises its own exception types
        raise MathConversionError(f"latex2mathml failed: {exc}") from exc
    mathml = _TEXT.sub(lambda m: "<mtext>" + _TEXT_ESCAPE.sub(
        lambda e: html.escape(e.group(1)), m.group(1)) + "</mtext>", mathml)
    leftover = _LEFTOVER.search(mathml)
    if leftover:
        raise MathConversionError(
            f"latex2mathml left {leftover.group(0).strip('<>')!r} "
            "unconverted; rewrite the formula or add the command to "
            "REWRITES in doc/offline_math.py")
    alttext = html.escape(" ".join(source.split()), quote=True)
    return mathml.replace("<math ", f'<math alttext="{alttext}" ', 1)


def _converted(translator, node, latex, display):
    """The MathML of ``latex``, or its LaTeX as code after a warning."""
    try:
        return to_mathml(latex, display)
    except MathConversionError as exc:
        logger.warning("cannot render the formula %r as MathML: %s",
                       latex, exc, location=node)
        return f"<code>{translator.encode(latex)}</code>"


def visit_math(self, node):
    """Write an inline formula as MathML."""
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate"))
    self.body.append(_converted(self, node, node.astext(), "inline"))
    self.body.append("</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node):
    """Write a displayed formula as MathML, one block per equation."""
    self.body.append(self.starttag(node, "div", CLASS="math notranslate"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    # Equations separated by a blank line, as Sphinx reads the directive.
    for part in node.astext().split("\n\n"):
        if part.strip():
            self.body.append(_converted(self, node, part, "block"))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    """Register the ``mathml`` renderer (select it by
    ``html_math_renderer = "mathml"``)."""
    app.add_html_math_renderer(
        "mathml", inline_renderers=(visit_math, None),
        block_renderers=(visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
