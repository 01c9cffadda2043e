"""The explorers: the numbers each one shows equal the lesson's own computation, and moving a control redraws."""

import math

import pytest
import torch

import helpers
from helpers import explore
from helpers.language_model import next_token_probs


class Display:
    """Stands in for IPython's display: keeps what was shown and every in-place update of the figure."""

    def __init__(self, monkeypatch):
        self.figures, self.controls = [], None
        monkeypatch.setattr(explore, "display", self)
        monkeypatch.setattr(explore, "_png", lambda fig: fig)  # keep the figure itself, to read its axes

    def __call__(self, obj, display_id=False):
        if display_id:
            self.figures.append(obj)
            return self
        self.controls = obj

    def update(self, obj):
        self.figures.append(obj)

    def control(self, description):
        return next(c for c in self.controls.children if c.description == description)


def test_a_figure_goes_out_as_a_png():
    fig = explore._figure()
    fig.subplots().plot([0, 1])
    assert explore._png(fig).data[:8] == b"\x89PNG\r\n\x1a\n"


def texts(fig):
    return [ax.get_title() for ax in fig.axes] + [t.get_text() for t in fig.texts]


def test_position_similarity_is_the_sum_of_one_cosine_per_pair():
    sims, per_pair, wavelengths = explore.position_similarity(16, 40, offset=7)
    pe = helpers.sinusoidal_positional_encoding(40, 16)
    assert torch.allclose(sims, pe @ pe.T)
    for p in (0, 5, 30):  # the same at every position: it depends on the offset alone
        assert sims[p, p + 7].item() == pytest.approx(per_pair.sum().item(), abs=1e-4)
    assert wavelengths[0].item() == pytest.approx(2 * math.pi) and (wavelengths.diff() > 0).all()


def test_softmax_weights_are_the_lessons_softmax_and_saturate_without_scaling():
    g = torch.Generator().manual_seed(0)  # 1024 entries drawn once; d_k = 64 takes the first 64
    q, k = torch.randn(512, 1, 1024, generator=g)[..., :64], torch.randn(512, 16, 1024, generator=g)[..., :64]
    for scaled, divide in ((False, 1.0), (True, 8.0)):
        expected = torch.softmax((q @ k.transpose(-2, -1)).squeeze(1) / divide, dim=-1).sort(-1, True).values
        assert torch.allclose(explore.softmax_weights(64, scaled), expected, atol=1e-6)
    # 02's asserted facts: at d_k = 1024 raw scores are nearly one-hot, scaled ones are not
    assert explore.softmax_weights(1024, False)[:, 0].mean() > 0.9
    assert explore.softmax_weights(1024, True)[:, 0].mean() < 0.4
    assert explore.entropy(torch.full((3, 16), 1 / 16)) == pytest.approx(math.log(16))
    assert explore.entropy(torch.eye(16)) == pytest.approx(0.0, abs=1e-6)


def test_softmax_explorer_redraws_when_d_k_and_scaling_move(monkeypatch):
    shown = Display(monkeypatch)
    explore.softmax_scale()
    assert "raw" in texts(shown.figures[0])[-1] and "d_k = 64" in texts(shown.figures[0])[-1]
    shown.control("divide by √d_k").value = True
    shown.control("d_k").value = 1024
    assert len(shown.figures) == 3
    title = texts(shown.figures[-1])
    largest = explore.softmax_weights(1024, True)[:, 0].mean().item()
    assert f"largest {largest:.2f}" in title[1] and "d_k = 1024" in title[-1]


def test_positions_explorer_marks_the_offset(monkeypatch):
    shown = Display(monkeypatch)
    explore.positions(d_model=16, max_len=40)
    shown.control("offset p' − p").value = 9
    sims, per_pair, _ = explore.position_similarity(16, 40, 9)
    ax = shown.figures[-1].axes[0]
    assert ax.lines[1].get_xdata()[0] == 10 + 9 and ax.lines[1].get_ydata()[0] == pytest.approx(sims[10, 19].item())
    assert [b.get_height() for b in shown.figures[-1].axes[1].patches] == pytest.approx(per_pair.tolist())


def test_depth_explorer_shows_the_chosen_runs_stream_reads_and_losses(monkeypatch):
    def run(scale, blown=False):  # 3 seeds, 2 blocks; the last seed's loss cut short when it blew up
        seen = [{"blocks": [(scale * (s + 1), 0.5 * scale, 0.1), (2 * scale, scale, 0.2)],
                 "reads": [(1.0, 0.3, 0.9)] * 4} for s in range(3)]
        curves = [[3.0, 2.0, 1.0], [5.0, 4.0, 0.5], [4.0, 1.0] if blown else [4.0, 1.0, 2.0]]
        return {"curves": curves, "init": seen, "trained": [{**s, "reads": [(9.0, 1.0, 8.0)] * 4} for s in seen]}

    runs = {("no norm", 2): run(1.0), ("pre-norm", 2): run(10.0, blown=True)}
    shown = Display(monkeypatch)
    explore.depth_stream(runs)
    assert "depth" not in [c.description for c in shown.controls.children], "one depth: no depth control"
    shown.control("arm").value = "pre-norm"
    stream_ax, loss_ax = shown.figures[-1].axes
    assert list(stream_ax.lines[0].get_ydata()) == [20.0, 20.0] and list(stream_ax.lines[1].get_ydata()) == [5, 10]
    pre = next(line for line in loss_ax.lines if line.get_label() == "pre-norm")
    # the median over seeds (torch takes the lower of two middle values); the run cut short drops out at step 3
    assert list(pre.get_ydata()) == [4.0, 2.0, 0.5] and pre.get_alpha() == 1.0
    next(c for c in shown.controls.children if c.description == "").value = "trained"
    assert list(shown.figures[-1].axes[0].lines[2].get_ydata()) == [9.0] * 4


@pytest.fixture(scope="module")
def lm():
    tokenizer = helpers.data.CharTokenizer("abc def. ghij")
    torch.manual_seed(0)
    model = helpers.TinyTransformer(tokenizer.vocab_size, d_model=16, n_layers=2, n_heads=2, max_len=16)
    return model, tokenizer


def test_sampling_shows_what_generate_draws_from(lm, monkeypatch):
    model, tokenizer = lm
    ids = tokenizer.encode("abc de")
    model.train()
    p = explore.next_char_distribution(model, ids, 0.7, 3)
    assert model.training, "the explorer must leave the model in the mode it found it"
    model.eval()
    with torch.no_grad():
        expected = next_token_probs(model(ids[None])[0, -1], 0.7, 3)
    assert torch.allclose(p, expected) and (p > 0).sum() == 3
    shown = Display(monkeypatch)
    explore.sampling(model, tokenizer, "abc de", n_chars=5, shown=5)
    shown.control("temperature").value = 0.5
    heights = [b.get_height() for b in shown.figures[-1].axes[0].patches]
    assert heights == pytest.approx(explore.next_char_distribution(model, ids, 0.5, None).topk(5).values.tolist())


def test_head_view_rows_are_each_heads_attention_from_the_chosen_character(lm, monkeypatch):
    model, tokenizer = lm
    maps = explore.head_weights(model, tokenizer.encode("abc def"))
    assert maps.shape == (2, 2, 7, 7)
    assert torch.allclose(maps.sum(-1), torch.ones(2, 2, 7)) and maps.triu(1).abs().max() == 0  # causal
    shown = Display(monkeypatch)
    explore.attention_heads(model, tokenizer, "abc def")
    shown.control("character").value = 3
    image = shown.figures[-1].axes[0].images[0].get_array()
    assert torch.allclose(torch.as_tensor(image.data), maps[:, :, 3, :4].reshape(4, 4))


@pytest.mark.slow
def test_an_explorer_redraws_when_its_control_moves_in_a_real_jupyterlab(tmp_path):
    """02's explorer in JupyterLab in headless Chromium: Run All, move the control, see the figure change."""
    from tests.test_slides import browser_or_skip
    from tools import preflight

    _, executable = browser_or_skip()
    lesson = preflight.ROOT / "notebooks" / "02_attention.ipynb"
    assert "helpers.explore." in lesson.read_text()
    (row,) = preflight.browser_run([lesson], executable, tmp_path)
    assert row["ok"], row
    assert row["explorers_redrawn_s"] and None not in row["explorers_redrawn_s"]
    assert (tmp_path / "02_attention-explorer-1.png").exists()
