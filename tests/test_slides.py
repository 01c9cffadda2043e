"""Every lesson builds a reveal.js deck (in memory, nothing written to notebooks/): title slide first, every figure."""

import html
import pathlib
import re

import nbformat
import pytest

from tools import notebooks as tools

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))




def text_of(fragment):
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_the_slide_rule():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    figure = code("plt.show()")
    figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})]
    number = code("print(1)")
    number.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb = nbformat.v4.new_notebook(
        cells=[md("# Title"), code("import helpers"), md("## Section"), md("Some prose."), md("### Part")]
        + [code("x = 1"), number, figure]
    )
    types = [c.metadata.slideshow.slide_type for c in tools.tag_slides(nb).cells]
    assert types == ["slide", "skip", "slide", "-", "subslide", "skip", "fragment", "subslide"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_each_lesson_builds_a_deck_with_its_title_and_figures(path):
    before = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    deck = tools.build_slides(nb)
    assert path.read_bytes() == before, "building slides must not touch the notebook"

    slides = deck[deck.index('<div class="slides">') :]
    first = slides[: slides.index("</section>")]
    title = nb.cells[0].source.splitlines()[0].lstrip("# ").replace("`", "")
    assert "<h1" in first and title in text_of(first), "the deck must open on the lesson's title"

    figures = sum("image/png" in out.get("data", {}) for c in nb.cells for out in c.get("outputs", []))
    assert figures > 0, "a lesson without a figure has no key plot to show"
    assert slides.count("data:image/png;base64,") >= figures, "every figure of the lesson must be in the deck"

    sections = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    assert slides.count("<h2") >= len(sections), "each section starts a slide"
    assert "shutil.rmtree" not in slides, "the setup cell is skipped"
