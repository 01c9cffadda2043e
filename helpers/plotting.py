"""One look for every figure: title, labelled axes, legend, small PNGs. Every function returns its Figure."""

import matplotlib.pyplot as plt
import numpy as np
import torch

from ._validate import check_labels, check_losses, check_matrix, check_positive_int, check_runs

STYLE = {
    "figure.figsize": (6.0, 3.5),
    "figure.dpi": 80,  # small PNGs keep the committed notebooks light
    "savefig.dpi": 80,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 10,
}


def use_workshop_style():
    plt.rcParams.update(STYLE)


def _to_numpy(t, name, layout, hint=""):
    """A 2-D tensor, array or nested list as a float numpy array; refused with a message naming `name` otherwise."""
    m = torch.as_tensor(t)
    check_matrix(m, name, layout, hint)
    return m.detach().float().cpu().numpy()


def plot_activation_magnitudes(runs, stat="rms", log=False, title=None):
    """Per-layer magnitude for one or several model variants on one axes.

    runs: {variant label: {layer name: stats dict}} as from activations.activation_stats,
    or a single {layer name: stats dict} for one variant. Every variant has the same layers.
    """
    if not any(isinstance(s, dict) for v in runs.values() for s in v.values()):
        runs = {"model": runs}  # one variant: {layer name: stats dict}
    check_runs(runs)
    fig, ax = plt.subplots()
    for label, stats in runs.items():
        ax.plot(range(len(stats)), [s[stat] for s in stats.values()], marker="o", label=label)
    names = list(next(iter(runs.values())))
    crowded = len(names) > 6
    ax.set_xticks(range(len(names)), names, rotation=45 if crowded else 0, ha="right" if crowded else "center")
    ax.set_xlabel("layer")
    ax.set_ylabel(f"activation {stat}" + (" (log scale)" if log else ""))
    if log:
        ax.set_yscale("log")
    ax.set_title(title or f"Activation {stat} per layer")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_attention(weights, tokens=None, query_tokens=None, title="Attention weights"):
    """Heatmap of a (seq_q, seq_k) attention matrix: row = the query, column = the key it looks at."""
    w = _to_numpy(weights, "weights", "(seq_q, seq_k)", "; pick one batch item and head")
    keys = tokens
    queries = query_tokens if query_tokens is not None else tokens
    check_labels(keys, w.shape[1], "tokens", "keys (columns)", w.shape)
    check_labels(queries, w.shape[0], "query_tokens", "queries (rows)", w.shape)
    fig, ax = _heatmap(w, "key (attended to)", "query (attending)", title, "weight", figsize=(4.2, 3.6),
                       cmap="viridis", vmin=0.0, vmax=max(float(w.max()), 1e-9))  # fmt: skip
    if keys is not None:
        ax.set_xticks(range(len(keys)), keys, rotation=90 if max(len(str(t)) for t in keys) > 2 else 0)
    if queries is not None:
        ax.set_yticks(range(len(queries)), queries)
    fig.tight_layout()
    return fig


def plot_positional_encoding(pe, title="Sinusoidal positional encoding"):
    """Heatmap of a (seq_len, d_model) encoding: one row per position."""
    pe = _to_numpy(pe, "pe", "(seq_len, d_model)")
    fig, _ = _heatmap(pe, "feature index", "position", title, "value",
                      cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")  # fmt: skip
    fig.tight_layout()
    return fig


def _heatmap(matrix, xlabel, ylabel, title, value_label, figsize=None, **imshow):
    """A matrix drawn as an image with its labels and a colorbar (no grid over the cells); returns (fig, ax)."""
    fig, ax = plt.subplots(figsize=figsize)
    image = ax.imshow(matrix, **imshow)
    ax.grid(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label=value_label)
    return fig, ax


def plot_losses(losses, title="Training loss", log=False, smooth=1):
    """Loss curves, {label: list of per-step losses}; smooth > 1 draws a running mean over that many steps."""
    losses = losses if isinstance(losses, dict) else {"loss": losses}
    check_positive_int(smooth, "smooth")
    if not losses:
        raise ValueError("losses is empty: pass a list of per-step losses or {label: list of losses}")
    fig, ax = plt.subplots()
    for label, values in losses.items():
        values = torch.as_tensor(np.asarray(list(values), dtype=np.float64))
        check_losses(label, values)
        if smooth > 1 and len(values) >= smooth:
            values = values.unfold(0, smooth, 1).mean(-1)
            steps = range(smooth - 1, smooth - 1 + len(values))
        else:
            steps = range(len(values))
        ax.plot(steps, values.numpy(), label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss" + (" (log scale)" if log else ""))
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig
