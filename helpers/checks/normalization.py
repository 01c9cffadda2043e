"""Checkers of notebook 05 (normalization): layer norm and RMSNorm by hand, the pre-norm block from its parts."""

import torch
import torch.nn.functional as F

from .. import layers
from .core import WHY, Mistake, check_function, randn


def _norm_cases():
    """The cases of both norms: the second argument, when given, is eps."""
    return [
        ("x of shape (2, 3, 8), features off-centre", (randn(2, 3, 8, seed=1) * 3 + 1,)),
        ("one token, x of shape (1, 5)", (randn(1, 5, seed=2),)),
        ("tiny values, x of shape (2, 4) times 0.001 (here eps matters)", (randn(2, 4, seed=3) * 1e-3,)),
        ("eps=0.1 passed in, odd sizes: x of shape (1, 3, 7)", (randn(1, 3, 7, seed=4), 0.1)),
    ]


def check_layer_norm(learner_fn):
    """learner_fn(x, eps=1e-5) -> x normalized over its last dimension (no scale or shift)."""
    def centred(x):
        return x - x.mean(dim=-1, keepdim=True)

    def biased_var(x):
        return x.var(dim=-1, keepdim=True, unbiased=False)

    mistakes = [
        Mistake("your function ignores the eps it is given: use the argument, not a constant.",
                lambda x, eps=1e-5: centred(x) / (biased_var(x) + 1e-5).sqrt()),
        Mistake("there is no eps: with tiny values the variance is near 0 and the division blows up. Add eps to the "
                "variance, inside the square root.", lambda x, eps=1e-5: centred(x) / biased_var(x).sqrt()),
        Mistake("eps belongs inside the square root: add it to the variance, then take the root.",
                lambda x, eps=1e-5: centred(x) / (biased_var(x).sqrt() + eps)),
        Mistake("your variance divides by n - 1 (torch's default, unbiased); layer norm divides by n: unbiased=False.",
                lambda x, eps=1e-5: centred(x) / (x.var(dim=-1, keepdim=True) + eps).sqrt()),
        Mistake("your result does not subtract the mean: that is RMSNorm. Layer norm centres each token first.",
                lambda x, eps=1e-5: x / (biased_var(x) + eps).sqrt()),
        Mistake("you normalized over the wrong axis (batch norm's): each TOKEN is normalized over its own features, "
                "the last dimension.",
                lambda x, eps=1e-5: (x - x.mean(0, True)) / (x.var(0, keepdim=True, correction=0) + eps).sqrt()),
    ]
    return check_function(learner_fn, lambda x, eps=1e-5: F.layer_norm(x, x.shape[-1:], eps=eps), _norm_cases(),
                          "layer norm", mistakes=mistakes, atol=1e-4,
                          nudge="each token on its own, over its features: subtract their mean, then divide by their "
                          "standard deviation (the population one, dividing by n), with the small eps added to the "
                          "variance so that a flat token does not divide by zero.")


def check_rms_norm(learner_fn):
    """learner_fn(x, eps=1e-6) -> x divided by the root mean square of its last dimension (no scale)."""
    def mean_square(x):
        return x.pow(2).mean(dim=-1, keepdim=True)

    mistakes = [
        Mistake("your function ignores the eps it is given: use the argument, not a constant.",
                lambda x, eps=1e-6: x / (mean_square(x) + 1e-6).sqrt()),
        Mistake("your result matches layer norm: RMSNorm does NOT subtract the mean, it only divides each token by its "
                "root mean square.", lambda x, eps=1e-6: F.layer_norm(x, x.shape[-1:], eps=eps)),
        Mistake("you divided by the mean square, not its square root.", lambda x, eps=1e-6: x / (mean_square(x) + eps)),
        Mistake("eps belongs inside the square root: add it to the mean square, then take the root.",
                lambda x, eps=1e-6: x / (mean_square(x).sqrt() + eps)),
        Mistake("there is no eps: add it to the mean square, inside the square root.",
                lambda x, eps=1e-6: x / mean_square(x).sqrt()),
        Mistake("you normalized over the wrong axis: each token is divided by the RMS of its OWN features, the last "
                "dimension.", lambda x, eps=1e-6: x / torch.sqrt(x.pow(2).mean(dim=0, keepdim=True) + eps)),
    ]
    return check_function(learner_fn, lambda x, eps=1e-6: x / (mean_square(x) + eps).sqrt(), _norm_cases(),
                          "RMSNorm", mistakes=mistakes, atol=1e-4,
                          nudge="each token on its own: divide it by the root of the mean of its squared features, "
                          "with the small eps added before the root. No centring, no learned scale.")


# ----------------------------------------------------------------------------- the pre-norm block


def _pre_norm_reference(block, x):
    x = x + block.attn(block.norm1(x))
    return x + block.mlp(block.norm2(x))


def _stream_normalized(block, x):  # the slip: the skip path carries norm(x)
    h = block.norm1(x)
    h = block.norm2(h + block.attn(h))
    return h + block.mlp(h)


def _post_norm(block, x):
    x = block.norm1(x + block.attn(x))
    return block.norm2(x + block.mlp(x))


def _test_block(d_model, n_heads, seed, norm="layer", causal=False):
    """A post-norm block whose two norms differ (random gamma and beta), so that mixing them up shows."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        block = layers.TransformerBlock(d_model, n_heads, norm=norm, norm_position="post", causal=causal)
        with torch.no_grad():
            for norm_layer in (block.norm1, block.norm2):
                norm_layer.weight.copy_(1 + 0.5 * torch.randn(d_model))
                if getattr(norm_layer, "bias", None) is not None:
                    norm_layer.bias.copy_(0.5 * torch.randn(d_model))
    return block.requires_grad_(False)


def _pre_norm_cases():
    return [
        ("a block of d_model=8, 2 heads, x of shape (2, 5, 8)", (_test_block(8, 2, seed=61), randn(2, 5, 8, seed=62))),
        ("batch 1, odd sizes: d_model=12, 3 heads, x of shape (1, 7, 12)",
         (_test_block(12, 3, seed=63), randn(1, 7, 12, seed=64))),
        ("RMSNorm instead of layer norm, causal attention, x of shape (2, 3, 8) times 3 plus 1",
         (_test_block(8, 4, seed=65, norm="rms", causal=True), randn(2, 3, 8, seed=66) * 3 + 1)),
    ]


def check_pre_norm_block(learner_fn):
    """learner_fn(block, x) -> the pre-norm arrangement of block's sublayers and norms:
    x + attn(norm1(x)), then that + mlp(norm2(that)). The blocks given are built post-norm, so block(x) is wrong."""
    mistakes = [
        Mistake("your result is the post-norm block (what these blocks compute when called): there the norm comes "
                "AFTER the addition. In pre-norm only the sublayer's input is normalized; the stream itself never is.",
                _post_norm),
        Mistake("you normalized the sublayer's OUTPUT; pre-norm normalizes its INPUT, before the sublayer runs.",
                lambda block, x: (lambda h: h + block.norm2(block.mlp(h)))(x + block.norm1(block.attn(x)))),
        Mistake("you normalized the stream itself, so the skip path carries norm(x); in pre-norm the skip carries x "
                "unchanged and only the copy that goes into the sublayer is normalized.",
                lambda block, x: _stream_normalized(block, x)),
        Mistake("your MLP read the block's input x; in the sequential block it reads the stream AFTER attention added "
                "its branch.", lambda block, x: x + block.attn(block.norm1(x)) + block.mlp(block.norm2(x))),
        Mistake("each sublayer has its own norm (its own gamma and beta): norm1 before attention, norm2 before the "
                "MLP.",
                lambda block, x: (lambda h: h + block.mlp(block.norm1(h)))(x + block.attn(block.norm1(x)))),
        Mistake("your block has no skip connections: each sublayer's output is ADDED to the stream.",
                lambda block, x: block.mlp(block.norm2(block.attn(block.norm1(x))))),
        Mistake("the MLP is missing: a block has two sublayers, attention and then the MLP, each with its own norm.",
                lambda block, x: x + block.attn(block.norm1(x))),
    ]
    return check_function(learner_fn, _pre_norm_reference, _pre_norm_cases(), "pre-norm block", mistakes=mistakes,
                          atol=1e-5,
                          nudge="leave the stream alone: before each sublayer, normalize what the sublayer reads (with "
                          "that sublayer's own norm), run the sublayer, and add its output to the stream. Attention "
                          "first; the MLP then reads the stream after attention's update.")


WHY.update({
    "which slows learning down more": "shifted, every input is near 10, so the weights of a unit are all pushed the "
    "same way together and most first-layer ReLUs start dead or always on; scaled, the inputs stay centred and "
    "every unit still bends somewhere among them.",
    "all five small-branch runs stable": "small branches keep the stream small at initialization only; without a "
    "norm nothing bounds what each sublayer reads once training makes the stream grow, and the runs blow up.",
})
