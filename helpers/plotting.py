"""One look for every figure: title, labelled axes, legend, small PNGs. Every function returns its Figure."""

import matplotlib.pyplot as plt
import torch

from ._validate import check_positive_int

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


def _to_numpy(t):
    return t.detach().float().cpu().numpy() if isinstance(t, torch.Tensor) else t


def plot_activation_magnitudes(runs, stat="rms", log=False, title=None):
    """Per-layer magnitude for one or several model variants on one axes.

    runs: {variant label: {layer name: stats dict}} as from activations.activation_stats,
    or a single {layer name: stats dict} for one variant.
    """
    if not isinstance(runs, dict) or not runs:
        raise ValueError(
            "runs must be a non-empty dict: {layer name: stats} (from activations.activation_stats) or "
            f"{{variant label: {{layer name: stats}}}}, got {runs!r}"[:300]
        )
    if all(isinstance(v, dict) and v and not any(isinstance(s, dict) for s in v.values()) for v in runs.values()):
        runs = {"model": runs}  # one variant: {layer name: stats dict}
    for label, stats in runs.items():
        if not isinstance(stats, dict) or not stats or not all(isinstance(s, dict) for s in stats.values()):
            raise ValueError(
                f"{label}: expected a non-empty {{layer name: stats dict}} as from activations.activation_stats, "
                f"got {stats!r}"[:300]
            )
        missing = [n for n, s in stats.items() if stat not in s]
        if missing:
            choices = sorted(next(iter(stats.values())))
            raise KeyError(f"{label}: no {stat!r} in the stats of {missing}; choose one of {choices}")
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
    w = _to_numpy(weights)
    if w.ndim != 2:
        raise ValueError(f"weights: expected shape (seq_q, seq_k), got {tuple(w.shape)}; pick one batch item and head")
    if 0 in w.shape:
        raise ValueError(f"weights: the attention matrix is empty, shape {tuple(w.shape)}")
    keys = tokens
    queries = query_tokens if query_tokens is not None else tokens
    for name, labels, n, what in (
        ("tokens", keys, w.shape[1], "keys (columns)"),
        ("query_tokens", queries, w.shape[0], "queries (rows)"),
    ):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{name}: {len(labels)} labels for {n} {what} of weights with shape {tuple(w.shape)}")
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    image = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=max(float(w.max()), 1e-9))
    if keys is not None:
        ax.set_xticks(range(len(keys)), keys, rotation=90 if max(len(str(t)) for t in keys) > 2 else 0)
    if queries is not None:
        ax.set_yticks(range(len(queries)), queries)
    ax.grid(False)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="weight")
    fig.tight_layout()
    return fig


def plot_positional_encoding(pe, title="Sinusoidal positional encoding"):
    """Heatmap of a (seq_len, d_model) encoding: one row per position."""
    pe = _to_numpy(pe)
    if pe.ndim != 2:
        raise ValueError(f"pe: expected shape (seq_len, d_model), got {tuple(pe.shape)}")
    fig, ax = plt.subplots()
    image = ax.imshow(pe, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    ax.grid(False)
    ax.set_xlabel("feature index")
    ax.set_ylabel("position")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="value")
    fig.tight_layout()
    return fig


def plot_losses(losses, title="Training loss", log=False, smooth=1):
    """Loss curves, {label: list of per-step losses}; smooth > 1 draws a running mean over that many steps."""
    if not isinstance(losses, dict):
        losses = {"loss": losses}
    if not losses:
        raise ValueError("losses is empty: pass a list of per-step losses or {label: list of losses}")
    check_positive_int(smooth, "smooth")
    fig, ax = plt.subplots()
    for label, values in losses.items():
        try:
            values = torch.as_tensor(list(values), dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            plt.close(fig)
            raise TypeError(f"{label}: expected a list of numbers (per-step losses), got {values!r}"[:300]) from None
        if not len(values):
            plt.close(fig)
            raise ValueError(f"{label}: no values to plot (an empty list of losses)")
        if values.dim() != 1:
            plt.close(fig)
            raise ValueError(f"{label}: expected a flat list of per-step losses, got shape {tuple(values.shape)}")
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
