"""The cheat sheet (tools/cheatsheet.py): every shape, formula and count on the page equals helpers', and it prints
on one page."""

import html
import re

import pytest
import torch

import helpers
from tools import cheatsheet


def evaluate(symbolic, symbols):
    """'(B, h, T, d/h)' -> (2, 4, 8, 16): a shape written in symbols, with the sizes put in."""
    sizes = re.sub(r"(\d)([a-zA-Z])", r"\1*\2", symbolic.strip("()"))  # 4d -> 4*d
    return tuple(int(eval(part, {}, dict(symbols))) for part in sizes.split(", "))  # noqa: S307 (our own text)


def test_every_shape_written_in_symbols_is_the_one_helpers_computes():
    rows, symbols = cheatsheet.shapes(cheatsheet.model())
    assert len(rows) >= 8
    for what, symbolic, measured in rows:
        assert evaluate(symbolic, symbols) == measured, what


def test_the_formulas_are_helpers_layers():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 6)
    mask = helpers.causal_mask(5)
    torch.testing.assert_close(cheatsheet.attention(q, k, v, mask), helpers.attention(q, k, v, mask)[0])
    block = helpers.TransformerBlock(16, 4, norm_position="pre")
    with torch.no_grad():
        block.norm1.weight.normal_(), block.norm1.bias.normal_()  # not the identity's 1 and 0
    x = torch.randn(2, 5, 16)
    norm = block.norm1
    torch.testing.assert_close(cheatsheet.layer_norm(x, norm.weight, norm.bias, norm.eps), norm(x))
    parts = (lambda h: block.attn(h), block.mlp, block.norm1, block.norm2)
    torch.testing.assert_close(cheatsheet.pre_norm_block(x, *parts), block(x))
    for vocab, d, layers in [(65, 64, 2), (10, 32, 1), (100, 48, 4)]:
        counted = helpers.TinyTransformer(vocab, d_model=d, n_layers=layers, n_heads=4).num_parameters()
        assert cheatsheet.gpt_parameters(vocab, d, layers) == counted


def test_the_page_shows_what_helpers_computes():
    page = cheatsheet.build()
    gpt = cheatsheet.model()
    assert f"<b>{gpt.num_parameters():,}</b>" in page
    rows, _ = cheatsheet.shapes(gpt)
    for what, symbolic, measured in rows:
        assert f"<td>{html.escape(what)}</td><td>{symbolic}</td><td>{measured}</td>" in page
    assert "True = may attend" in page and "<td>✓</td><td>·</td>" in page
    for _, _, fn in cheatsheet.FORMULAS:
        assert f"def {fn.__name__}(" in page
    assert "http" not in page  # nothing to fetch: it opens and prints offline


@pytest.mark.slow
def test_it_prints_on_one_page(tmp_path):
    from test_slides import browser_or_skip

    sync_playwright, executable = browser_or_skip()
    sheet = tmp_path / "cheatsheet.html"
    sheet.write_text(cheatsheet.build(), encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(sheet.as_uri())
        pdf = page.pdf(prefer_css_page_size=True)
        browser.close()
    (tmp_path / "cheatsheet.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    print(f"cheat sheet: {pages} page(s), {tmp_path / 'cheatsheet.pdf'}")
    assert pages == 1
