"""Explorers: a live control over a lesson's own experiment, for when a learner would rather play than read.

Each explorer draws its default state as an ordinary figure (what nbval, the slides and a reader on GitHub see)
and, in a live kernel, puts ipywidgets controls beside it that redraw that same figure in place. The numbers it
shows come from a small function of the control values (`softmax_weights`, `position_similarity`, ...) that the
tests compare with the lesson's own computation. Nothing trains or downloads on a drag.
"""

import functools
import io
import math

import ipywidgets as widgets
import torch
from IPython.display import Image, display
from matplotlib.figure import Figure

from .language_model import next_token_probs
from .layers import sinusoidal_positional_encoding
from .training import evaluating

# ---------------------------------------------------------------------------------------------------------
# The one mechanism: draw(**values) -> Figure, shown once, then replaced in place whenever a control moves.


def _show(draw, controls):
    """Display draw(**defaults) as a static figure, then the controls that redraw it. Returns nothing, so a
    notebook cell that ends with the call prints no repr."""

    def image():
        return _png(draw(**{name: c.value for name, c in controls.items()}))

    handle = display(image(), display_id=True)

    def redraw(_change=None):
        handle.update(image())

    for control in controls.values():
        control.observe(redraw, names="value")
    display(widgets.HBox(list(controls.values())))


def _png(fig):
    """The figure as a PNG image: shown the same in JupyterLab, Colab and VS Code, with no matplotlib display hook."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return Image(buffer.getvalue(), format="png")


def _figure(width=9.0, height=3.2):
    fig = Figure(figsize=(width, height), dpi=80)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.17, top=0.84, wspace=0.3)  # fixed: no layout pass per redraw
    return fig


def _slider(description, value, lo, hi, step=1, log=False):
    kind = widgets.FloatLogSlider if log else (widgets.IntSlider if isinstance(step, int) else widgets.FloatSlider)
    extra = {"base": 2, "min": math.log2(lo), "max": math.log2(hi)} if log else {"min": lo, "max": hi}
    return kind(value=value, step=step, description=description, continuous_update=True,
                style={"description_width": "initial"}, **extra)


# ---------------------------------------------------------------------------------------------------------
# 01: positions


def position_similarity(d_model, max_len, offset):
    """Dot products of the sinusoidal encoding of every position with every other, and, for one offset,
    each frequency pair's share cos(w_i * offset) of the dot product between positions that far apart."""
    pe = sinusoidal_positional_encoding(max_len, d_model)
    omega = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # one frequency per pair
    return pe @ pe.T, torch.cos(omega * offset), 2 * math.pi / omega


def positions(d_model=64, max_len=64):
    """01: pick a position and an offset; see how alike the encodings are, and which pairs make the difference."""

    def draw(position, offset):
        sims, per_pair, wavelengths = position_similarity(d_model, max_len, offset)
        fig = _figure()
        ax1, ax2 = fig.subplots(1, 2)
        ax1.plot(sims[position].numpy(), label=f"position {position} with every position")
        other = position + offset
        if other < max_len:
            ax1.plot([other], [sims[position, other].item()], "o", color="C3",
                     label=f"with {other}: {sims[position, other].item():.2f}")
        ax1.set(xlabel="position p'", ylabel="PE(p) · PE(p')", title=f"Similarity to position {position}")
        ax1.legend(fontsize=8)
        bars = ax2.bar(range(len(per_pair)), per_pair.numpy(), color="C0")
        for bar, w in zip(bars, wavelengths.tolist(), strict=True):
            bar.set_alpha(0.35 if w > 20 * max(offset, 1) else 1.0)  # long wavelengths barely turn at this offset
        ax2.set(xlabel="dimension pair i (wavelength grows →)", ylabel="cos(ω_i · offset)", ylim=(-1.05, 1.05),
                title=f"offset {offset}: the dot product is the sum, {per_pair.sum().item():.2f}")
        return fig

    _show(draw, {"position": _slider("position p", 10, 0, max_len - 1),
                 "offset": _slider("offset p' − p", 4, 0, max_len - 1)})


# ---------------------------------------------------------------------------------------------------------
# 02: the scale of the scores


@functools.lru_cache(maxsize=1)
def _queries_and_keys(n_queries, n_keys, d_max, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n_queries, 1, d_max, generator=g), torch.randn(n_queries, n_keys, d_max, generator=g)


def softmax_weights(d_k, scaled, n_queries=512, n_keys=16, seed=0, d_max=1024):
    """Softmax weights of random queries over random keys (entries mean 0, variance 1; the first d_k of d_max
    entries, drawn once), the scores divided by sqrt(d_k) when `scaled`: (n_queries, n_keys), largest first."""
    q, k = (t[..., :d_k] for t in _queries_and_keys(n_queries, n_keys, d_max, seed))
    scores = (q @ k.transpose(-2, -1)).squeeze(1) / (math.sqrt(d_k) if scaled else 1.0)
    return torch.softmax(scores, dim=-1).sort(dim=-1, descending=True).values


def entropy(weights):
    """Mean entropy of each row, in nats: log(n_keys) when uniform, 0 when one-hot."""
    return -(weights * weights.clamp_min(1e-30).log()).sum(-1).mean().item()


def softmax_scale(n_keys=16):
    """02: slide d_k, with and without the division by sqrt(d_k); see the softmax saturate."""

    def draw(d_k, scaled):
        d_k = int(round(d_k))
        w = softmax_weights(d_k, scaled, n_keys=n_keys)
        fig = _figure()
        ax1, ax2 = fig.subplots(1, 2)
        ax1.bar(range(n_keys), w[0].numpy(), color="C1" if not scaled else "C0")
        ax1.axhline(1 / n_keys, color="gray", ls=":", label=f"uniform (1/{n_keys})")
        ax1.set(xlabel="key, largest weight first", ylabel="weight", ylim=(0, 1.02), title="One query's weights")
        ax1.legend(fontsize=8)
        ax2.bar(range(n_keys), w.mean(0).numpy(), color="C1" if not scaled else "C0")
        ax2.set(xlabel="key, largest weight first", ylabel="mean weight over 512 queries", ylim=(0, 1.02),
                title=f"largest {w[:, 0].mean().item():.2f}, entropy {entropy(w):.2f} of {math.log(n_keys):.2f} nats")
        fig.suptitle(f"d_k = {d_k}, scores {'divided by √d_k' if scaled else 'raw'}", fontsize=10)
        return fig

    _show(draw, {"d_k": _slider("d_k", 64, 1, 1024, step=1, log=True),
                 "scaled": widgets.Checkbox(value=False, description="divide by √d_k")})


# ---------------------------------------------------------------------------------------------------------
# 04/05: depth and the stream, over runs the notebook computed once


def depth_stream(runs):
    """04/05: pick an arm (and a depth, where the runs hold several) and a moment among runs computed once in the
    notebook: the stream entering each block and what each sublayer reads, each with its offset, and the loss.

    runs: {(arm, depth): {"curves": per seed, the loss at each step (a run cut short by a non-finite loss ends
    early); "init" and "trained": per seed, {"blocks": [(rms, offset, rest) of the stream entering each block],
    "reads": [(rms, offset, rest) of each sublayer's input]}}}, as helpers.activations.offset_split gives them.
    """
    arms = list(dict.fromkeys(arm for arm, _ in runs))
    depths = sorted({depth for _, depth in runs})

    def median(rows, i):  # per position, the median over seeds of component i
        return torch.tensor([[float(split[i]) for split in seed] for seed in rows]).median(0).values

    def losses(run):  # (seeds, steps), nan after a run was cut short
        steps = max(len(c) for c in run["curves"])
        out = torch.full((len(run["curves"]), steps), math.nan)
        for i, curve in enumerate(run["curves"]):
            out[i, : len(curve)] = torch.tensor(curve, dtype=torch.float)
        return out

    def draw(arm, when, depth=depths[-1]):
        fig = _figure()
        fig.subplots_adjust(left=0.12)  # room for the log axis' tick labels
        ax1, ax2 = fig.subplots(1, 2)
        run = runs[arm, depth]
        seen = run[when]
        blocks = [s["blocks"] for s in seen]
        reads = [s["reads"] for s in seen]
        x_blocks, x_reads = torch.arange(len(blocks[0])), torch.arange(len(reads[0])) / 2
        ax1.plot(x_blocks, median(blocks, 0), "o-", label="stream RMS")
        ax1.plot(x_blocks, median(blocks, 1), "s--", label="its offset, shared by all tokens")
        ax1.plot(x_reads, median(reads, 0), ".:", color="C3", label="what each sublayer reads")
        ax1.set(xlabel="block", ylabel="RMS (median)", yscale="log",
                title=f"{arm}, {depth} blocks, {'at initialization' if when == 'init' else 'after training'}")
        ax1.legend(fontsize=7)
        for other in arms:  # every arm's loss, the chosen one in front with its range over seeds
            if (other, depth) not in runs:
                continue
            loss = losses(runs[other, depth])
            steps = range(1, loss.shape[1] + 1)
            line, = ax2.plot(steps, loss.nanmedian(0).values, alpha=1.0 if other == arm else 0.25, label=other)
            if other == arm:
                filled = loss.nan_to_num(nan=1e12)
                ax2.fill_between(steps, filled.amin(0), filled.amax(0), color=line.get_color(), alpha=0.2)
        ax2.set(xlabel="step", ylabel="loss (median, range over seeds)", yscale="log", ylim=(1e-3, 1e4),
                title="training loss")
        ax2.legend(fontsize=7)
        return fig

    controls = {"arm": widgets.Dropdown(options=arms, value=arms[0], description="arm"),
                "when": widgets.ToggleButtons(options=[("at init", "init"), ("after training", "trained")],
                                              value="init")}
    if len(depths) > 1:
        controls["depth"] = widgets.SelectionSlider(options=depths, value=depths[-1], description="blocks")
    _show(draw, controls)


# ---------------------------------------------------------------------------------------------------------
# 07: sampling


def next_char_distribution(model, ids, temperature, top_k):
    """The probabilities lm.generate draws the token after `ids` from (the model in eval mode, as it runs there)."""
    with evaluating(model):
        logits = model(ids[None, -model.max_len :].to(next(model.parameters()).device))[0, -1]
    return next_token_probs(logits.float().cpu(), temperature, top_k)


def sampling(model, tokenizer, prompt, n_chars=60, shown=20):
    """07: temperature and top-k over the model's next-character distribution, with a sampled continuation."""
    from .language_model import generate

    def draw(prompt, temperature, top_k, seed):
        prompt = "".join(c for c in prompt if c in tokenizer.chars) or tokenizer.chars[0]  # drop unknown characters
        ids = tokenizer.encode(prompt)
        k = None if top_k == 0 else top_k
        p = next_char_distribution(model, ids, temperature, k)
        top = p.topk(shown)
        text = tokenizer.decode(generate(model, ids, n_chars, temperature=temperature, top_k=k,
                                         generator=torch.Generator().manual_seed(seed), use_cache=True))
        fig = _figure(9.0, 3.6)
        ax = fig.subplots()
        labels = [repr(tokenizer.decode(torch.tensor([i])))[1:-1] or "␣" for i in top.indices.tolist()]
        ax.bar(range(shown), top.values.numpy())
        ax.set_xticks(range(shown), [lab.replace(" ", "␣") for lab in labels])
        ax.set(ylabel="probability", ylim=(0, 1.02),
               title=f"next character after {prompt[-30:]!r}: T = {temperature:.2f}, top-k = {k or 'all'}")
        fig.subplots_adjust(bottom=0.22)
        fig.text(0.01, 0.02, "sample: " + text[len(prompt):].replace("\n", " "), fontsize=9, family="monospace")
        return fig

    _show(draw, {"prompt": widgets.Text(value=prompt, description="prompt", continuous_update=False),
                 "temperature": _slider("temperature", 1.0, 0.1, 2.0, step=0.05),
                 "top_k": _slider("top-k (0 = all)", 0, 0, model.head.out_features),
                 "seed": _slider("seed", 0, 0, 20)})


# ---------------------------------------------------------------------------------------------------------
# 07/08: attention heads


def head_weights(model, ids):
    """Every block's attention weights on one sequence (eval mode): (blocks, heads, query, key)."""
    with evaluating(model):
        model(ids[None].to(next(model.parameters()).device))
    return torch.stack([block.attn.weights[0].cpu() for block in model.blocks])


def attention_heads(model, tokenizer, sentence):
    """07/08: pick a character; see where each head of each block looks from it (a head view)."""
    ids = tokenizer.encode(sentence)
    maps = head_weights(model, ids)
    chars = [c if c != " " else "␣" for c in sentence]
    n_blocks, n_heads = maps.shape[:2]

    def draw(query):
        fig = _figure(9.0, 0.9 * n_blocks * n_heads / 2 + 1.0)
        fig.subplots_adjust(left=0.14, bottom=0.12, top=0.9)
        ax = fig.subplots()
        rows = maps[:, :, query, : query + 1].reshape(n_blocks * n_heads, -1)
        ax.imshow(rows.numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(query + 1), chars[: query + 1], fontsize=8)
        ax.set_yticks(range(n_blocks * n_heads), [f"block {b} head {h}" for b in range(n_blocks)
                                                 for h in range(n_heads)], fontsize=8)
        ax.grid(False)
        ax.set_title(f"Where each head looks from {chars[query]!r} (character {query}): brighter = more weight")
        return fig

    _show(draw, {"query": _slider("character", len(ids) - 1, 0, len(ids) - 1)})

