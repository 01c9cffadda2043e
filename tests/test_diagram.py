"""The series' diagram: every box can be highlighted, and a wrong name says which names exist."""

import matplotlib.pyplot as plt
import pytest

from helpers import diagram


def highlighted(fig):
    """The box names drawn with the highlight colour."""
    names = set()
    for artist in fig.axes[0].get_children():
        colour = getattr(artist, "get_edgecolor", None) or getattr(artist, "get_color", None)
        if artist.get_gid() and colour is not None and _is_highlight(colour()):
            names.add(artist.get_gid())
    return names


def _is_highlight(colour):
    from matplotlib.colors import to_hex

    try:
        return to_hex(colour) == diagram.HIGHLIGHT
    except (ValueError, TypeError):
        return False


CASES = [(variant, name) for variant in diagram.VARIANTS for name in sorted(diagram.names(variant))]


@pytest.mark.parametrize(("variant", "name"), CASES, ids=[f"{v}-{n}" for v, n in CASES])
def test_every_box_can_be_highlighted_alone(variant, name):
    fig = diagram.draw_transformer(highlight=name, variant=variant)
    assert highlighted(fig) == {name}
    plt.close(fig)


@pytest.mark.parametrize("variant", diagram.VARIANTS)
def test_groups_expand_to_the_boxes_drawn(variant):
    drawn = diagram.names(variant)
    for group, members in diagram.GROUPS.items():
        present = drawn.intersection(members)
        if not present:
            with pytest.raises(ValueError, match=f"group '{group}' has no box"):
                diagram.draw_transformer(highlight=group, variant=variant)
            continue
        fig = diagram.draw_transformer(highlight=[group], variant=variant)
        assert highlighted(fig) == present
        plt.close(fig)


def test_every_box_name_is_drawn_in_some_variant():
    drawn = set().union(*(diagram.names(v) for v in diagram.VARIANTS))
    assert drawn == set(diagram.BOXES)


# The names notebooks 01-07 highlight (grep draw_transformer): each must keep its meaning.
LESSON_NAMES = {
    "positional_encoding": {"input_positional_encoding", "output_positional_encoding"},
    "attention": {"encoder_self_attention", "decoder_masked_self_attention", "cross_attention"},
    "feed_forward": {"encoder_feed_forward", "decoder_feed_forward"},
    "skip": {f"{s}_skip" for s in diagram.SUBLAYERS},
    "norm": {f"{s}_add_norm" for s in diagram.SUBLAYERS},
    "decoder": {"output_embedding", "decoder_masked_self_attention", "cross_attention", "decoder_feed_forward",
                "decoder_stack"} | {f"{s}_add_norm" for s in diagram.SUBLAYERS[2:]},
}  # fmt: skip


@pytest.mark.parametrize("name", LESSON_NAMES)
def test_the_lessons_highlights_keep_their_meaning(name):
    assert highlighted(diagram.draw_transformer(highlight=name)) == LESSON_NAMES[name]
    plt.close("all")


def test_every_name_is_one_thing():
    """A name is one box (or add circle, or frame) with at most one arrow and its labels: so a cell that computes
    one Add & Norm, or one skip, can highlight exactly that."""
    for variant in diagram.VARIANTS:
        for name in diagram.names(variant):
            parts = [p for p in diagram._layout(variant) if p.name == name]
            assert sum(p.kind in ("box", "add", "frame") for p in parts) <= 1, (variant, name)
            assert sum(p.kind == "arrow" for p in parts) <= 1, (variant, name)
            assert not set(diagram.GROUPS) & {name}


def test_each_sublayer_has_its_own_norm_and_skip():
    post, pre, gpt = (diagram.names(v) for v in diagram.VARIANTS)
    for s in diagram.SUBLAYERS:
        assert {s, f"{s}_add_norm", f"{s}_skip"} <= post and f"{s}_norm" not in post
        assert {s, f"{s}_norm", f"{s}_skip"} <= pre and f"{s}_add_norm" not in pre
    assert {"encoder_final_norm", "decoder_final_norm"} <= pre and not post & {"encoder_final_norm"}
    assert "cross_attention" not in gpt and "encoder_stack" not in gpt and "decoder_masked_self_attention" in gpt


def test_gpt_is_what_a_decoder_only_model_keeps():
    kept = highlighted(diagram.draw_transformer(highlight="gpt"))
    assert {
        "decoder_masked_self_attention",
        "decoder_feed_forward",
        "linear",
        "softmax",
        "output_embedding",
        "output_positional_encoding",
        "decoder_masked_self_attention_add_norm",
        "decoder_feed_forward_skip",
    } <= kept
    assert not {n for n in kept if n.startswith(("cross_attention", "encoder", "input"))}
    assert highlighted(diagram.draw_transformer(highlight="gpt", variant="decoder-only")) == diagram.names(
        "decoder-only"
    )
    plt.close("all")


def test_every_attention_has_its_inputs_labelled():
    for variant in diagram.VARIANTS:
        labels = {(p.name, p.text) for p in diagram._layout(variant) if p.kind == "inputs"}
        attentions = diagram.names(variant) & set(diagram.GROUPS["attention"])
        for name in attentions - {"cross_attention"}:
            assert (name, "V K Q") in labels
        if "cross_attention" in attentions:  # queries from the decoder, keys and values from the encoder
            assert {("cross_attention", "Q"), ("cross_attention", "K V")} <= labels


# The figure sizes the lessons draw at: alone (the size follows the layout), two side by side in 05 and 07.
SIZES = {
    "alone": lambda: None,
    "05": lambda: plt.subplots(1, 2, figsize=(9, 5))[1],
    "07": lambda: plt.subplots(1, 2, figsize=(11, 5.6), width_ratios=[1.7, 1])[1],
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("variant", diagram.VARIANTS)
def test_every_label_stays_inside_its_box(size, variant):
    axes = SIZES[size]()
    ax = None if axes is None else axes[diagram.VARIANTS.index(variant) % 2]
    everything = sorted(diagram.names(variant))  # bold, the widest text
    fig = diagram.draw_transformer(highlight=everything, variant=variant, ax=ax)
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0] if ax is None else ax
    boxes = {a.get_gid(): a for a in ax.patches if type(a).__name__ == "FancyBboxPatch"}
    texts = [t for t in ax.texts if t.get_gid() in boxes and t.get_text() and t.get_ha() == "center"]
    assert len(texts) == len(boxes)  # one text per box
    for text in texts:
        inner, outer = text.get_window_extent(renderer), boxes[text.get_gid()].get_window_extent(renderer)
        assert outer.x0 <= inner.x0 and inner.x1 <= outer.x1 and outer.y0 <= inner.y0 and inner.y1 <= outer.y1, (
            text.get_text(),
            size,
        )
    plt.close("all")


def test_nothing_highlighted_draws_every_box_plainly():
    fig = diagram.draw_transformer()
    assert highlighted(fig) == set()
    assert fig.axes[0].get_title() == diagram.TITLES["post"]
    plt.close(fig)


def test_draws_into_a_given_axes_with_a_title():
    fig, (left, right) = plt.subplots(1, 2)
    assert diagram.draw_transformer("skip", variant="pre", title="pre-norm", ax=right) is fig
    assert right.get_title() == "pre-norm" and not left.get_children()[0].get_gid()
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"highlight": "atention"}, ValueError, "unknown box 'atention'; boxes: .*groups"),
        ({"highlight": "cross_attention", "variant": "decoder-only"}, ValueError, "not part of the 'decoder-only'"),
        ({"highlight": "encoder", "variant": "decoder-only"}, ValueError, "group 'encoder' has no box"),
        ({"highlight": "cross_attention_add_norm", "variant": "pre"}, ValueError, "not part of the 'pre'"),
        ({"highlight": ["skip", 3]}, TypeError, "box names \\(str\\), got int"),
        ({"variant": "gpt"}, ValueError, "variant must be one of"),
    ],
)
def test_wrong_names_are_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        diagram.draw_transformer(**kwargs)
