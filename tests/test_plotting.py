import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

import helpers
from helpers import plotting


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def stats():
    torch.manual_seed(0)
    model = helpers.TinyTransformer(10, 16, 3, 4, 8)
    return helpers.activations.activation_stats(model, torch.randint(0, 10, (2, 6)))


def test_activation_magnitudes_one_and_several_variants(stats):
    fig = plotting.plot_activation_magnitudes(stats)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "layer" and "rms" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == list(stats)
    fig = plotting.plot_activation_magnitudes({"a": stats, "b": stats}, stat="max_abs", log=True, title="t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "t"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


def test_activation_magnitudes_unknown_stat(stats):
    with pytest.raises(KeyError, match="'median'"):
        plotting.plot_activation_magnitudes({"a": stats}, stat="median")


def test_attention_heatmap():
    weights = torch.softmax(torch.randn(4, 4), dim=-1)
    fig = plotting.plot_attention(weights, tokens=list("abcd"))
    assert isinstance(fig, Figure)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list("abcd")
    with pytest.raises(ValueError, match=r"shape \(seq_q, seq_k\), got \(2, 4, 4\)"):
        plotting.plot_attention(torch.rand(2, 4, 4))


def test_positional_encoding_heatmap():
    fig = plotting.plot_positional_encoding(helpers.sinusoidal_positional_encoding(16, 8))
    assert fig.axes[0].get_ylabel() == "position"
    with pytest.raises(ValueError, match="seq_len, d_model"):
        plotting.plot_positional_encoding(torch.zeros(3))


def test_losses_with_smoothing():
    fig = plotting.plot_losses({"a": [3.0, 2.0, 1.0, 0.5], "b": [1.0] * 4}, smooth=2, log=True)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and list(lines[0].get_ydata()) == [2.5, 1.5, 0.75]
    assert fig.axes[0].get_yscale() == "log"
    assert isinstance(plotting.plot_losses([1.0, 0.5]), Figure)


def test_style_keeps_figures_small(tmp_path, stats):
    """The style's size and resolution, read back from the saved PNG: 6 x 3.5 inches at 80 dpi is 480 x 280 pixels
    (the byte count would depend on matplotlib's and zlib's versions)."""
    with plt.rc_context():
        plotting.use_workshop_style()
        fig = plotting.plot_activation_magnitudes(stats)
        path = tmp_path / "fig.png"
        fig.savefig(path)
    assert plt.imread(path).shape[:2] == (280, 480)
