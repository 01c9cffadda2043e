"""The series' diagram: our own drawing of the architecture figure of "Attention Is All You Need".

    draw_transformer(highlight="cross_attention")            the paper's model (post-norm), one box highlighted
    draw_transformer(highlight="norm", variant="pre")        the same model with pre-norm blocks (GPT-2 and later)
    draw_transformer(variant="decoder-only")                 GPT: the decoder without cross-attention, pre-norm

Each lesson opens with it and highlights the part it builds, so the picture fills in box by box.
Every box, add circle and skip arrow has its own name (`BOXES`), so a cell can highlight exactly what it
computes: `encoder_self_attention_add_norm` is the encoder block's norm1, `cross_attention_skip` the skip
around cross-attention. A group (`GROUPS`) names several at once: every attention, every skip, or `gpt`,
what a decoder-only model keeps. The arrows into each attention are labelled with the inputs they carry
(Q, K, V; for cross-attention K and V come from the encoder, Q from the decoder). Text scales with the
drawing, so it stays inside its box at any figure size.
"""

from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

VARIANTS = ("post", "pre", "decoder-only")

# Colours close to the paper's figure, so a learner who has seen it recognises each box.
COLOURS = {
    "embedding": "#f4c7c3",
    "attention": "#fcd9a8",
    "feed_forward": "#bfe3f5",
    "norm": "#f6f3a6",
    "linear": "#d9d2e9",
    "softmax": "#c9e7c1",
    "stack": "#f2f2f2",
}
HIGHLIGHT = "#c0392b"  # the edge of a highlighted box
FADED_TEXT = "#9a9a9a"

BOX_W, BOX_H, STEP = 2.8, 0.62, 0.9  # box size and the vertical distance between two boxes
INCH_PER_UNIT = 0.5  # the figure size follows the layout, so text stays readable in every variant


@dataclass
class Part:
    """One thing drawn: a box, an add circle, an arrow (a polyline), a stack's frame or a label."""

    name: str
    kind: str  # "box", "add", "arrow", "frame", "label"
    points: tuple  # box/add/label: (x, y) centre; arrow: ((x, y), ...); frame: (x0, y0, x1, y1)
    text: str = ""
    colour: str = "white"
    align: str = "center"  # an inputs label's horizontal alignment: it sits beside an arrow


# ----------------------------------------------------------------------------- layout


class _Column:
    """Lays out one column of the figure from the bottom up, keeping the names of what it places."""

    def __init__(self, x, prefix, skip_side, side_name):
        self.x, self.prefix, self.side, self.side_name = x, prefix, skip_side, side_name
        self.y = 0.4
        self.top = None  # the top edge of the last thing on the main path, where the next arrow starts
        self.parts = []

    def label(self, name, text):
        self.parts.append(Part(name, "label", (self.x, self.y), text))
        self.top = self.y + 0.25
        self.y += 0.55 + STEP / 2

    def box(self, name, text, colour):
        if self.top is not None:
            self.arrow_up()
        self.parts.append(Part(name, "box", (self.x, self.y), text, COLOURS[colour]))
        self.top = self.y + BOX_H / 2
        self.y += STEP

    def add(self, name):
        self.arrow_up(into=self.y - 0.2)
        self.parts.append(Part(name, "add", (self.x, self.y)))
        self.top = self.y + 0.2
        self.y += STEP

    def arrow_up(self, into=None):
        into = self.y - BOX_H / 2 if into is None else into
        self.parts.append(Part("flow", "arrow", ((self.x, self.top), (self.x, into))))

    def inputs_label(self, name, text):
        """A small label beside the arrow that enters the next box, on the side away from the skip."""
        x = self.x - self.side * 0.1
        self.parts.append(
            Part(name, "inputs", (x, self.y - BOX_H / 2 - 0.13), text, align="right" if self.side > 0 else "left")
        )

    def positional_encoding(self):
        name = f"{self.side_name}_positional_encoding"
        self.add(name)
        self.y -= STEP  # the label and its arrow sit beside the circle
        label_x = self.x + self.side * (BOX_W / 2 + 0.55)
        self.parts.append(Part(name, "label", (label_x, self.y), "Positional\nEncoding"))
        into = ((label_x - self.side * 0.6, self.y), (self.x + self.side * 0.2, self.y))
        self.parts.append(Part(name, "arrow", into))
        self.y += STEP

    def sublayer(self, name, text, colour, norm_position, inputs=None):
        """One sublayer with its skip connection and norm, in the paper's (post) or GPT-2's (pre) order.

        Its norm is named f"{name}_add_norm" (post) or f"{name}_norm" (pre), its skip (arrow, and in pre-norm
        the add circle) f"{name}_skip". `inputs` labels the arrow entering the sublayer (e.g. "V K Q").
        """
        start = self.y - STEP / 2  # where the skip leaves the main path: just below the sublayer (or its norm)
        if norm_position == "post":
            if inputs:
                self.inputs_label(name, inputs)
            self.box(name, text, colour)
            self.box(f"{name}_add_norm", "Add & Norm", "norm")
            end = self.y - STEP
        else:
            self.box(f"{name}_norm", "LayerNorm", "norm")
            if inputs:
                self.inputs_label(name, inputs)
            self.box(name, text, colour)
            end = self.y
            self.add(f"{name}_skip")
        edge = self.x + self.side * (BOX_W / 2 + 0.35)
        into = self.x + self.side * (BOX_W / 2 if norm_position == "post" else 0.2)
        self.parts.append(Part(f"{name}_skip", "arrow", ((self.x, start), (edge, start), (edge, end), (into, end))))

    def frame(self, name, bottom, text):
        top = self.y - STEP + BOX_H / 2 + 0.2
        x0, x1 = self.x - BOX_W / 2 - 0.55, self.x + BOX_W / 2 + 0.55
        self.parts.insert(0, Part(name, "frame", (x0, bottom, x1, top), text, COLOURS["stack"]))
        label_x = x0 - 0.45 if self.side < 0 else x1 + 0.45
        self.parts.append(Part(name, "label", (label_x, (bottom + top) / 2), f"N×\n{text}"))
        self.y = top + 0.3 + BOX_H / 2


QKV = "V K Q"  # the paper's figure draws three arrows into every attention: values, keys, queries


def _decoder(x, norm_position, cross, prefix="decoder_"):
    column = _Column(x, prefix, skip_side=+1, side_name="output")
    column.label("outputs_shifted_right", "Outputs\n(shifted right)" if cross else "Tokens")
    column.box("output_embedding", "Output Embedding" if cross else "Token Embedding", "embedding")
    column.positional_encoding()
    bottom = column.y - BOX_H / 2 - 0.2
    column.sublayer("decoder_masked_self_attention", "Masked Multi-Head\nAttention", "attention", norm_position, QKV)
    if cross:  # queries from the decoder; keys and values arrive from the encoder (the memory arrow)
        column.sublayer("cross_attention", "Multi-Head\nAttention (cross)", "attention", norm_position, "Q")
    column.sublayer("decoder_feed_forward", "Feed Forward", "feed_forward", norm_position)
    column.frame("decoder_stack", bottom, "Decoder")
    if norm_position == "pre":
        column.box("decoder_final_norm", "LayerNorm (final)", "norm")
    column.box("linear", "Linear", "linear")
    column.box("softmax", "Softmax", "softmax")
    column.arrow_up(into=column.y - 0.25)
    column.label("output_probabilities", "Output\nProbabilities")
    return column


def _encoder(x, norm_position):
    column = _Column(x, "encoder_", skip_side=-1, side_name="input")
    column.label("inputs", "Inputs")
    column.box("input_embedding", "Input Embedding", "embedding")
    column.positional_encoding()
    bottom = column.y - BOX_H / 2 - 0.2
    column.sublayer("encoder_self_attention", "Multi-Head\nAttention", "attention", norm_position, QKV)
    column.sublayer("encoder_feed_forward", "Feed Forward", "feed_forward", norm_position)
    column.frame("encoder_stack", bottom, "Encoder")
    if norm_position == "pre":
        column.box("encoder_final_norm", "LayerNorm (final)", "norm")
    return column


def _layout(variant):
    if variant == "decoder-only":
        return _decoder(3.0, "pre", cross=False).parts
    encoder, decoder = _encoder(2.3, variant), _decoder(7.3, variant, cross=True)
    # The encoder's output (the "memory") feeds the keys and values of every decoder layer's cross-attention.
    top = max(_span(p, 1)[-1] for p in encoder.parts if p.kind in ("box", "frame"))
    cross = next(p for p in decoder.parts if p.name == "cross_attention")
    cx, cy = cross.points
    middle = (encoder.x + cx) / 2
    memory = ((encoder.x, top), (encoder.x, top + 0.35), (middle, top + 0.35), (middle, cy), (cx - BOX_W / 2, cy))
    keys_values = Part("cross_attention", "inputs", (cx - BOX_W / 2 - 0.1, cy + 0.13), "K V", align="right")
    return encoder.parts + decoder.parts + [Part("cross_attention", "arrow", memory), keys_values]


# ----------------------------------------------------------------------------- names

SUBLAYERS = (
    "encoder_self_attention",
    "encoder_feed_forward",
    "decoder_masked_self_attention",
    "cross_attention",
    "decoder_feed_forward",
)

BOXES = (
    "inputs",
    "outputs_shifted_right",
    "input_embedding",
    "output_embedding",
    "input_positional_encoding",
    "output_positional_encoding",
    *SUBLAYERS,
    *(f"{s}_add_norm" for s in SUBLAYERS),  # post-norm: Add & Norm after each sublayer
    *(f"{s}_norm" for s in SUBLAYERS),  # pre-norm: LayerNorm before each sublayer
    *(f"{s}_skip" for s in SUBLAYERS),
    "encoder_final_norm",
    "decoder_final_norm",
    "encoder_stack",
    "decoder_stack",
    "linear",
    "softmax",
    "output_probabilities",
)

_ENCODER = ("encoder_self_attention", "encoder_feed_forward")
_DECODER = ("decoder_masked_self_attention", "cross_attention", "decoder_feed_forward")
_GPT = ("decoder_masked_self_attention", "decoder_feed_forward")  # a decoder-only model's sublayers


def _with(suffix, sublayers):
    return tuple(f"{s}{suffix}" for s in sublayers)


GROUPS = {
    "embedding": ("input_embedding", "output_embedding"),
    "positional_encoding": ("input_positional_encoding", "output_positional_encoding"),
    "attention": ("encoder_self_attention", "decoder_masked_self_attention", "cross_attention"),
    "feed_forward": ("encoder_feed_forward", "decoder_feed_forward"),
    "skip": _with("_skip", SUBLAYERS),
    "add_norm": _with("_add_norm", SUBLAYERS),
    "encoder_add_norm": _with("_add_norm", _ENCODER),
    "decoder_add_norm": _with("_add_norm", _DECODER),
    "encoder_norm": _with("_norm", _ENCODER),
    "decoder_norm": _with("_norm", _DECODER),
    "final_norm": ("encoder_final_norm", "decoder_final_norm"),
    # Every normalization, whichever way the variant places it.
    "norm": (*_with("_add_norm", SUBLAYERS), *_with("_norm", SUBLAYERS), "encoder_final_norm", "decoder_final_norm"),
    "encoder": ("input_embedding", *_ENCODER, *_with("_add_norm", _ENCODER), *_with("_norm", _ENCODER),
                "encoder_final_norm", "encoder_stack"),
    "decoder": ("output_embedding", *_DECODER, *_with("_add_norm", _DECODER), *_with("_norm", _DECODER),
                "decoder_final_norm", "decoder_stack"),
    "output": ("linear", "softmax", "output_probabilities"),
    # What GPT keeps of the paper's model: the decoder without cross-attention (nor the memory arrow feeding it).
    "gpt": ("outputs_shifted_right", "output_embedding", "output_positional_encoding", *_GPT,
            *_with("_add_norm", _GPT), *_with("_norm", _GPT), *_with("_skip", _GPT), "decoder_final_norm",
            "decoder_stack", "linear", "softmax", "output_probabilities"),
}  # fmt: skip


def names(variant="post"):
    """The box names drawn in `variant`, in no particular order."""
    _check_variant(variant)
    return {part.name for part in _layout(variant)} - {"flow"}


def _check_variant(variant):
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")


def _resolve(highlight, variant):
    """The set of box names to highlight, with groups expanded; a clear error for a name not drawn."""
    if highlight is None:
        return set()
    wanted = [highlight] if isinstance(highlight, str) else list(highlight)
    drawn = names(variant)
    chosen = set()
    for name in wanted:
        if not isinstance(name, str):
            raise TypeError(f"highlight takes box names (str), got {type(name).__name__} ({name!r})")
        if name in GROUPS:
            members = drawn.intersection(GROUPS[name])
            if not members:
                raise ValueError(f"group {name!r} has no box in the {variant!r} diagram")
            chosen |= members
        elif name in drawn:
            chosen.add(name)
        elif name in BOXES:
            raise ValueError(f"box {name!r} is not part of the {variant!r} diagram; it has: {sorted(drawn)}")
        else:
            raise ValueError(
                f"unknown box {name!r}; boxes: {list(BOXES)}; groups: {list(GROUPS)} (see helpers.diagram)"
            )
    return chosen


# ----------------------------------------------------------------------------- drawing

TITLES = {
    "post": "Transformer (Vaswani et al. 2017): post-norm",
    "pre": "Transformer with pre-norm blocks (GPT-2 and later)",
    "decoder-only": "Decoder-only transformer (GPT): pre-norm",
}


def draw_transformer(highlight=None, variant="post", title=None, ax=None):
    """Draw the architecture, highlighting `highlight` (a box or group name, or several); returns the Figure.

    Every artist carries its box name as gid, so a test (or a curious learner) can find what is drawn.
    """
    _check_variant(variant)
    chosen = _resolve(highlight, variant)
    parts = _layout(variant)
    xs = [x for p in parts for x in _span(p, 0)]
    ys = [y for p in parts for y in _span(p, 1)]
    (x0, x1), (y0, y1) = (min(xs) - 0.5, max(xs) + 0.5), (min(ys) - 0.3, max(ys) + 0.3)
    if ax is None:
        fig, ax = plt.subplots(figsize=((x1 - x0) * INCH_PER_UNIT, (y1 - y0) * INCH_PER_UNIT + 0.35))
        fig.subplots_adjust(left=0, right=1, bottom=0, top=1 - 0.35 / fig.get_figheight())
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.axis("off")
    # Text sizes follow the drawing's scale (inches per layout unit, limited by the tighter axis), so every label
    # stays inside its box in a small axes too (05 and 07 draw two diagrams side by side).
    box = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    scale = min(box.width * fig_w / (x1 - x0), box.height * fig_h / (y1 - y0)) / INCH_PER_UNIT
    for part in parts:
        _draw(ax, part, on=part.name in chosen, faded=bool(chosen) and part.name not in chosen, scale=scale)
    ax.set_title(TITLES[variant] if title is None else title, fontsize=10)
    return ax.figure


def _span(part, axis):
    """The coordinates a part covers along axis 0 (x) or 1 (y), for the figure's limits."""
    if part.kind == "inputs":
        return (part.points[axis],)
    if part.kind == "frame":
        return part.points[axis], part.points[axis + 2]
    if part.kind == "arrow":
        return [point[axis] for point in part.points]
    half = (BOX_W, BOX_H)[axis] / 2
    return part.points[axis] - half, part.points[axis] + half


def _draw(ax, part, on, faded, scale=1.0):
    edge = HIGHLIGHT if on else ("#b0b0b0" if faded else "#333333")
    width = 2.5 if on else 0.8
    text_colour = FADED_TEXT if faded else "black"
    alpha = 0.35 if faded else 1.0
    if part.kind == "box":
        x, y = part.points
        patch = FancyBboxPatch(
            (x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, boxstyle="round,pad=0,rounding_size=0.12",
            facecolor=part.colour, edgecolor=edge, linewidth=width, alpha=None if not faded else alpha,
        )  # fmt: skip
        artists = [
            ax.add_patch(patch),
            ax.text(
                x,
                y,
                part.text,
                ha="center",
                va="center",
                fontsize=7.5 * scale,
                color=text_colour,
                weight="bold" if on else "normal",
            ),
        ]
    elif part.kind == "add":
        circle = Circle(part.points, 0.2, facecolor="white", edgecolor=edge, linewidth=max(width, 1.0))
        artists = [
            ax.add_patch(circle),
            ax.text(*part.points, "+", ha="center", va="center", fontsize=9 * scale, color=edge if on else text_colour),
        ]
    elif part.kind == "frame":
        x0, y0, x1, y1 = part.points
        frame = Rectangle(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            facecolor=part.colour,
            edgecolor=edge,
            linewidth=width if on else 0.8,
            linestyle="-" if on else "--",
            zorder=0,
        )
        artists = [ax.add_patch(frame)]
    elif part.kind in ("label", "inputs"):
        size = 7.5 if part.kind == "label" else 5.5
        artists = [
            ax.text(
                *part.points,
                part.text,
                ha=part.align,
                va="center",
                fontsize=size * scale,
                color=HIGHLIGHT if on else text_colour,
                weight="bold" if on else "normal",
            )
        ]
    else:  # an arrow: straight segments, the head on the last one
        colour = HIGHLIGHT if on else ("#c8c8c8" if faded else "#555555")
        *path, (x1, y1) = part.points
        artists = []
        if len(path) > 1:
            artists += ax.plot([x for x, _ in path], [y for _, y in path], color=colour, linewidth=width)
        arrow = FancyArrowPatch(
            path[-1], (x1, y1), arrowstyle="-|>", mutation_scale=8, color=colour, linewidth=width, shrinkA=0, shrinkB=0
        )
        artists.append(ax.add_patch(arrow))
    for artist in artists:
        artist.set_gid(part.name)


__all__ = ["BOXES", "GROUPS", "VARIANTS", "draw_transformer", "names"]
