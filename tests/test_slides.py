"""Every lesson builds a reveal.js deck of its core path (in memory, nothing written to notebooks/): title slide first,
every figure of the core, nothing fetched from the web; and, where playwright and a Chromium are installed, a deck
opened in a browser with the network blocked shows its title, renders a formula and a figure, and the right arrow
alone walks every slide and every number, none of them running off the window."""

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


def test_the_slides_stop_where_the_optional_part_starts():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    number, again = code("print(1)"), code("print(2)")
    number.outputs = again.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb = nbformat.v4.new_notebook(
        cells=[md("# Title"), code("import helpers"), md("## Summary"), number]
        + [md("## Going further (optional)\n\nMore."), again, md("### Optional: a digression"), md("## Next")]
    )
    assert tools.optional_start(nb) == 4
    types = [c.metadata.slideshow.slide_type for c in tools.tag_slides(nb).cells]
    assert types == ["slide", "skip", "slide", "fragment", "skip", "skip", "skip", "skip"]
    code_comment = nbformat.v4.new_notebook(cells=[md("# Title"), code("# Going further: a comment, not a heading")])
    assert tools.optional_start(code_comment) == 2  # no optional part: everything is core


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

    core = nb.cells[: tools.optional_start(nb)]
    figures = sum("image/png" in out.get("data", {}) for c in core for out in c.get("outputs", []))
    assert figures > 0, "a lesson without a figure on its core path has no key plot to show"
    assert slides.count("data:image/png;base64,") == figures, "the deck holds every figure of the core path, no other"

    sections = [c for c in core if c.cell_type == "markdown" and c.source.startswith("## ")]
    assert slides.count("<h2") >= len(sections), "each section starts a slide"
    assert "shutil.rmtree" not in slides, "the setup cell is skipped"
    optional_headings = re.findall(r'<h\d id="((?:Going-further|Optional)[^"]*)"', slides)
    assert optional_headings == [], "the slides stop where the optional part starts"

    fetched = re.findall(r"<(?:script|img|link|iframe|source)\b[^>]*\b(?:src|href)=[\"']?(?!data:)([^\"' >]+)", deck)
    assert fetched == [], "a deck opens with no network: nothing it loads may come from elsewhere"
    assert "<script>window.MathJax" in deck.replace("\n", "") and "Reveal.initialize(" in deck


def browser_or_skip():
    """playwright's sync API and a Chromium, or a skip that says what to install (neither is in requirements.txt)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the offline deck test needs the playwright package (pip install playwright) and a Chromium")
    from tools import preflight

    executable = preflight.find_browser()
    if executable is None:
        pytest.skip("the offline deck test needs a Chromium (apt-get install chromium, or WORKSHOP_CHROMIUM=path)")
    return sync_playwright, executable


# Go to the slide holding the first element matching a selector, with the fragment it is in (if any) shown.
SHOW = """selector => {
  const element = document.querySelector(selector), where = Reveal.getIndices(element.closest('section'));
  const fragment = element.closest('.fragment');
  Reveal.slide(where.h, where.v, fragment ? Number(fragment.dataset.fragmentIndex) : undefined);
}"""


@pytest.mark.slow
def test_a_deck_opened_offline_shows_its_title_a_formula_and_a_figure(tmp_path):
    sync_playwright, executable = browser_or_skip()
    lesson = ROOT / "notebooks" / "02_attention.ipynb"  # formulas ($$ and $) and figures on its core path
    nb = nbformat.read(lesson, as_version=4)
    deck = tmp_path / "02_attention.slides.html"
    deck.write_text(tools.build_slides(nb))
    title = nb.cells[0].source.splitlines()[0].lstrip("# ").replace("`", "")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 800})
        requests, errors = [], []
        context.route(
            "**/*", lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_()
        )
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(deck.as_uri())
        page.wait_for_function("window.Reveal && Reveal.isReady() && window.MathJax && MathJax.startup", timeout=30_000)
        page.evaluate("MathJax.startup.promise")

        present = page.locator(".reveal .slides > section.present")
        assert title in present.locator("h1").first.inner_text()
        page.screenshot(path=str(tmp_path / "title.png"))

        # The first displayed formula ($$...$$): shown, drawn as SVG, no raw TeX or MathJax error left anywhere.
        page.evaluate("Reveal.configure({transition: 'none'})")  # screenshots of the slide, not of a transition
        page.evaluate(SHOW, "mjx-container[display='true']")
        formula = page.locator("section.present:not(.stack) mjx-container[display='true'] svg").first
        formula.wait_for(state="visible", timeout=5_000)  # reveal.js shows the slide on its next frame
        assert formula.bounding_box()["width"] > 100
        assert page.locator("mjx-merror").count() == 0 and "$$" not in page.locator(".slides").inner_text()
        page.screenshot(path=str(tmp_path / "formula.png"))

        # A figure: shown and decoded.
        page.evaluate(SHOW, "img[src^='data:image/png']")
        figure = page.locator("section.present:not(.stack) img[src^='data:image/png']").first
        figure.wait_for(state="visible", timeout=5_000)
        assert figure.evaluate("img => img.complete && img.naturalWidth") > 100 and figure.bounding_box()["width"] > 100
        page.screenshot(path=str(tmp_path / "figure.png"))
        browser.close()
    assert errors == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == [], "the deck fetched from the web"


# After each press of the right arrow: where we are, the slide's box on screen, and the number just shown (if any).
WHERE = """() => {
  const slide = Reveal.getCurrentSlide(), box = slide.getBoundingClientRect();
  const shown = slide.querySelector('.fragment.current-fragment');
  const part = shown && shown.getBoundingClientRect();
  return {h: Reveal.getIndices().h, v: Reveal.getIndices().v || 0, top: box.top, bottom: box.bottom,
          content: slide.scrollHeight, visible: slide.clientHeight, overflow: getComputedStyle(slide).overflowY,
          shown: part && {top: part.top, bottom: part.bottom},
          end: Reveal.isLastSlide() && !Reveal.availableFragments().next};
}"""


# 02: stacked figures, a tall title slide, slides taller than the window. Every deck passed once (see the commit).
STEPPED = ["02_attention"]


@pytest.mark.slow
@pytest.mark.parametrize("lesson", STEPPED)
def test_the_right_arrow_walks_every_slide_and_none_runs_off_the_window(tmp_path, lesson):
    sync_playwright, executable = browser_or_skip()
    deck = tmp_path / f"{lesson}.slides.html"
    deck.write_text(tools.build_slides(nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)))
    height = 800
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": height})
        local = lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()  # noqa: E731
        context.route("**/*", local)
        page = context.new_page()
        page.goto(deck.as_uri())
        page.wait_for_function("window.Reveal && Reveal.isReady() && window.MathJax && MathJax.startup", timeout=30_000)
        page.evaluate("MathJax.startup.promise")
        page.evaluate("Reveal.configure({transition: 'none'})")
        total = page.evaluate("Reveal.getTotalSlides()")
        visited, problems, tallest, presses = set(), [], 0, 0
        while True:
            at = page.evaluate(WHERE)
            visited.add((at["h"], at["v"]))
            tallest = max(tallest, at["content"])
            where = f"slide {at['h']}.{at['v']} after {presses} presses"
            if at["top"] < -1 or at["bottom"] > height + 1:
                problems.append(f"{where}: runs off the window ({at['top']:.0f} to {at['bottom']:.0f} px)")
            if at["content"] > at["visible"] + 1 and at["overflow"] not in ("auto", "scroll"):
                problems.append(f"{where}: {at['content']} px of content in {at['visible']} px, and it does not scroll")
            if at["shown"] and not at["top"] - 1 <= at["shown"]["bottom"] <= at["bottom"] + 1:
                problems.append(f"{where}: the output just shown is out of view")
            if len(problems) > len(list(tmp_path.glob("*.png"))):
                page.screenshot(path=str(tmp_path / f"problem-{presses}.png"))
            if at["end"] or presses > 500:
                break
            page.keyboard.press("ArrowRight")
            presses += 1
        browser.close()
    print(f"{lesson}: {len(visited)} of {total} slides reached in {presses} presses of the right arrow; "
          f"tallest slide content {tallest} px, in a {height} px window (screenshots of problems: {tmp_path})")
    assert problems == []
    assert len(visited) == total, "the right arrow skipped slides stacked below another"
