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


def test_the_lessons_highlights_exist_in_the_papers_figure():
    for name in ("positional_encoding", "attention", "feed_forward", "skip", "norm", "cross_attention"):
        assert highlighted(diagram.draw_transformer(highlight=name))
    plt.close("all")


def test_variants_differ_where_they_should():
    post, pre, gpt = (diagram.names(v) for v in diagram.VARIANTS)
    assert {"encoder_add_norm", "decoder_add_norm"} <= post and not post & {"encoder_norm", "final_norm"}
    assert {"encoder_norm", "decoder_norm", "final_norm"} <= pre and not pre & {"encoder_add_norm"}
    assert "cross_attention" not in gpt and "encoder_stack" not in gpt and "decoder_masked_self_attention" in gpt


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
        ({"highlight": ["skip", 3]}, TypeError, "box names \\(str\\), got int"),
        ({"variant": "gpt"}, ValueError, "variant must be one of"),
    ],
)
def test_wrong_names_are_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        diagram.draw_transformer(**kwargs)
