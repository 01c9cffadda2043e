"""Checkers of notebook 03 (the MLP): the forward pass by hand, two linear layers collapsing into one, SwiGLU."""

import torch
import torch.nn.functional as F

from .core import WHY, Mistake, check_function, randn


def _mlp_cases():
    def weights(d_model, d_hidden, seed):
        return (
            randn(d_hidden, d_model, seed=seed) / d_model**0.5,
            randn(d_hidden, seed=seed + 1) * 0.5,
            randn(d_model, d_hidden, seed=seed + 2) / d_hidden**0.5,
            randn(d_model, seed=seed + 3) * 0.5,
        )

    return [
        ("x of shape (5, 4), d_hidden=16", (randn(5, 4, seed=1) * 2, *weights(4, 16, 10))),
        ("a single token, x of shape (4,)", (randn(4, seed=4) * 2, *weights(4, 16, 40))),
        ("a batch, x of shape (2, 3, 8), d_hidden=32", (randn(2, 3, 8, seed=2) * 2, *weights(8, 32, 20))),
        ("batch 1, odd sizes, d_hidden=6, not 4 x d_model: x of shape (1, 5, 3)",
         (randn(1, 5, 3, seed=3) * 2, *weights(3, 6, 30))),
    ]


def check_mlp(learner_fn):
    """learner_fn(x, W1, b1, W2, b2) -> the GELU MLP's output.

    W1 is (d_hidden, d_model) and W2 (d_model, d_hidden), laid out as nn.Linear stores them.
    """
    mistakes = [
        Mistake("your result matches ReLU; this MLP uses the exact GELU, built from the error function erf.",
                lambda x, W1, b1, W2, b2: F.linear(F.relu(F.linear(x, W1, b1)), W2, b2)),
        Mistake("your result matches GELU's tanh approximation; use the exact GELU, built from the error function erf.",
                lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1), approximate="tanh"), W2, b2)),
        Mistake("your result has no nonlinearity: apply GELU to the hidden features before projecting back.",
                lambda x, W1, b1, W2, b2: F.linear(F.linear(x, W1, b1), W2, b2)),
        Mistake("your result leaves out the bias b1 of the first layer.",
                lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1)), W2, b2)),
        Mistake("your result leaves out the bias b2 of the second layer.",
                lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1)), W2)),
        Mistake("you applied GELU after the second layer too; the output of the MLP is linear in the hidden features.",
                lambda x, W1, b1, W2, b2: F.gelu(F.linear(F.gelu(F.linear(x, W1, b1)), W2, b2))),
    ]
    return check_function(learner_fn, lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1)), W2, b2),
                          _mlp_cases(), "MLP forward", mistakes=mistakes,
                          nudge="each token on its own: a linear layer widens it to d_hidden features, GELU bends "
                          "every feature, a second linear layer brings it back to d_model. The weights are stored the "
                          "way PyTorch's linear layer stores them, output features first.",
                          error_hints=[("cannot be multiplied", "nn.Linear stores W1 as (d_hidden, d_model), output "
                                        "features first: a token of d_model features meets W1 transposed.")])


def check_collapse_linear(learner_fn):
    """learner_fn(W1, b1, W2, b2) -> (W, b): the one nn.Linear equal to Linear(W1, b1) followed by Linear(W2, b2)."""
    cases = [
        ("square layers, all (4, 4)", (randn(4, 4, seed=1), randn(4, seed=2), randn(4, 4, seed=3), randn(4, seed=4))),
        ("d_in=3 -> d_hidden=5 -> d_out=2",
         (randn(5, 3, seed=5), randn(5, seed=6), randn(2, 5, seed=7), randn(2, seed=8))),
        ("d_in=1 -> d_hidden=7 -> d_out=3",
         (randn(7, 1, seed=9), randn(7, seed=10), randn(3, 7, seed=11), randn(3, seed=12))),
    ]
    mistakes = [
        Mistake("the matrices are in the wrong order: x passes W1 first, so W1 is the factor next to x.",
                lambda W1, b1, W2, b2: (W1 @ W2, W2 @ b1 + b2)),
        Mistake("the bias b1 is added before the second layer, so it also passes through W2.",
                lambda W1, b1, W2, b2: (W2 @ W1, b2)),
        Mistake("b1 + b2 forgets that b1 goes through the second layer's matrix.",
                lambda W1, b1, W2, b2: (W2 @ W1, b1 + b2)),
        Mistake("the bias of the combined layer is everything the layers add to the output when x is zero; b2 is part "
                "of it.", lambda W1, b1, W2, b2: (W2 @ W1, W2 @ b1)),
    ]
    return check_function(learner_fn, lambda W1, b1, W2, b2: (W2 @ W1, W2 @ b1 + b2), cases,
                          "collapse two linear layers", mistakes=mistakes, atol=1e-4,
                          nudge="write the second layer applied to the output of the first, then expand the brackets: "
                          "what multiplies x is the new matrix, everything else is the new bias. Return the pair, "
                          "matrix first.")


def _swiglu(x, W1, W3, W2, *, act=F.silu, gate_on_w3=False, combine=torch.mul, no_gate=False):
    """W2 (silu(W1 x) * W3 x), and its classic slips."""
    a, b = F.linear(x, W1), F.linear(x, W3)
    if no_gate:
        return F.linear(act(a), W2)
    if gate_on_w3:
        a, b = b, a
    return F.linear(combine(act(a), b), W2)


def check_swiglu(learner_fn):
    """learner_fn(x, W1, W3, W2) -> W2 (SiLU(W1 x) * (W3 x)) for every token; W1, W3: (d_hidden, d_model)."""

    def weights(d_model, d_hidden, seed):
        return (
            randn(d_hidden, d_model, seed=seed) / d_model**0.5 * 2,
            randn(d_hidden, d_model, seed=seed + 1) / d_model**0.5 * 2,
            randn(d_model, d_hidden, seed=seed + 2) / d_hidden**0.5,
        )

    cases = [
        ("x of shape (5, 4), d_hidden=8", (randn(5, 4, seed=1), *weights(4, 8, 10))),
        ("a single token, x of shape (6,)", (randn(6, seed=2), *weights(6, 16, 20))),
        ("a batch, x of shape (2, 3, 8), d_hidden=20", (randn(2, 3, 8, seed=3), *weights(8, 20, 30))),
        ("batch 1, odd sizes: x of shape (1, 5, 3), d_hidden=7", (randn(1, 5, 3, seed=4), *weights(3, 7, 40))),
    ]
    mistakes = [
        Mistake("your result matches GELU; SwiGLU's gate uses SiLU, z times the logistic sigmoid of z.",
                lambda x, W1, W3, W2: _swiglu(x, W1, W3, W2, act=F.gelu)),
        Mistake("your result uses the plain sigmoid; SiLU is z times the sigmoid of z.",
                lambda x, W1, W3, W2: _swiglu(x, W1, W3, W2, act=torch.sigmoid)),
        Mistake("SiLU goes on W1's branch, and W3's branch stays linear; yours has them the other way round.",
                lambda x, W1, W3, W2: _swiglu(x, W1, W3, W2, gate_on_w3=True)),
        Mistake("the two branches are MULTIPLIED feature by feature (that is the gate), not added.",
                lambda x, W1, W3, W2: _swiglu(x, W1, W3, W2, combine=torch.add)),
        Mistake("yours leaves out W3's branch: the gate multiplies SiLU of the first branch by the second branch.",
                lambda x, W1, W3, W2: _swiglu(x, W1, W3, W2, no_gate=True)),
    ]
    return check_function(learner_fn, _swiglu, cases, "SwiGLU MLP", mistakes=mistakes, atol=1e-5,
                          nudge="each token on its own: two linear layers without biases both widen it to d_hidden "
                          "features; SiLU bends the first, the product of the two, feature by feature, is the gated "
                          "hidden vector, and a third layer brings it back to d_model. The weights are stored output "
                          "features first.",
                          error_hints=[("cannot be multiplied", "the weights are stored as (out_features, "
                                        "in_features), as nn.Linear stores them: a token meets each matrix "
                                        "transposed.")])


WHY.update({
    "mean pairwise cosine after 16 plain blocks": "every block makes the tokens more alike (the next cells "
    "measure who does it), and nothing undoes it.",
})
