"""The checkers of notebook 04 (skip connections)."""

import itertools

import pytest
import torch
import torch.nn.functional as F
from checker_testing import Fails, Passes, robustness

import helpers
from helpers import checks


def cosine(x):
    unit = F.normalize(x, dim=-1)
    sims = unit @ unit.transpose(-2, -1)
    seq = x.shape[-2]
    return ((sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))).mean()


def cosine_by_pairs(x):  # every pair i != j, with F.cosine_similarity, as a float
    seq = x.shape[1]
    sims = [F.cosine_similarity(x[:, i], x[:, j], dim=-1) for i in range(seq) for j in range(seq) if i != j]
    return torch.stack(sims).mean().item()


def per_sequence(x):
    unit = F.normalize(x, dim=-1)
    sims = unit @ unit.transpose(-2, -1)
    seq = x.shape[-2]
    return (sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))


def raw(x):
    sims = x @ x.transpose(-2, -1)
    seq = x.shape[-2]
    return ((sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))).mean()


def wrong_axis(x):
    unit = F.normalize(x, dim=-2)
    sims = unit @ unit.transpose(-2, -1)
    seq = x.shape[-2]
    return ((sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))).mean()


def divides_by_all(x):
    sims = F.normalize(x, dim=-1) @ F.normalize(x, dim=-1).transpose(-2, -1)
    return ((sims.sum(dim=(-2, -1)) - x.shape[-2]) / x.shape[-2] ** 2).mean()


COSINE_CASES = [
    Passes(cosine),
    Passes(cosine_by_pairs),
    Passes(lambda x: cosine(x).item(), id="a float"),
    Passes(helpers.activations.mean_pairwise_cosine, id="helpers"),
    Fails(lambda x: (F.normalize(x, dim=-1) @ F.normalize(x, dim=-1).mT).mean(), "leave out the diagonal"),
    Fails(lambda x: (F.normalize(x, dim=-1) @ F.normalize(x, dim=-1).mT).mean().item(), "leave out the diagonal"),
    Fails(divides_by_all, "divided by all seq * seq"),
    Fails(per_sequence, ["expected a number (a float or a 0-d tensor), got a tensor of shape (2,)", "per sequence"]),
    Fails(raw, "raw dot products"),
    Fails(lambda x: raw(x).item(), "raw dot products"),
    Fails(wrong_axis, "wrong axis"),
    Fails(lambda x: str(cosine(x).item()), "expected a number (a float or a 0-d tensor), got a str"),
    Fails(lambda x: x @ x, ["raised RuntimeError", "Hint: the cosine of two tokens"]),
    *robustness(cosine, tensor_result=False),
]


@pytest.mark.parametrize("case", COSINE_CASES, ids=str)
def test_check_mean_pairwise_cosine(case):
    case.check(checks.check_mean_pairwise_cosine)


# ----------------------------------------------------------------------------- the parallel block


def parallel_block(x, attn, mlp):
    return x + attn(x) + mlp(x)


def parallel_block_by_branches(x, attn, mlp):
    branches = [f(x) for f in (attn, mlp)]
    return torch.stack([x, *branches]).sum(dim=0)


def sequential(x, attn, mlp):
    x = x + attn(x)
    return x + mlp(x)


PARALLEL_CASES = [
    Passes(parallel_block),
    Passes(parallel_block_by_branches),
    Fails(sequential, ["❌ parallel block", "read the stream AFTER attention"]),
    Fails(lambda x, attn, mlp: attn(x) + mlp(x), "no skip connection"),
    Fails(lambda x, attn, mlp: (x + attn(x)) + (x + mlp(x)), "you added x twice"),
    Fails(lambda x, attn, mlp: x + attn(x), "the MLP's branch is missing"),
    Fails(lambda x, attn, mlp: x + mlp(attn(x)), ["values are off", "Hint: in this block the two sublayers"]),
    Fails(lambda x, attn, mlp: mlp(attn(x)), "you chained the sublayers"),
    *robustness(parallel_block),
]


@pytest.mark.parametrize("case", PARALLEL_CASES, ids=str)
def test_check_parallel_block(case):
    case.check(checks.check_parallel_block)


# ----------------------------------------------------------------------------- the stream as a sum of paths


def paths_by_length(x, weights):
    paths = [x] + [torch.zeros_like(x) for _ in weights]
    for w in weights:
        paths = [paths[0]] + [paths[k] + paths[k - 1] @ w for k in range(1, len(paths))]
    return paths


def paths_w_at_h(x, weights):  # the matrix on the left: tokens are rows, so h @ W
    paths = [x] + [torch.zeros_like(x) for _ in weights]
    for w in weights:
        paths = [paths[0]] + [paths[k] + w @ paths[k - 1] for k in range(1, len(paths))]
    return paths


def paths_by_subsets(x, weights):
    sums = [torch.zeros_like(x) for _ in range(len(weights) + 1)]
    for chosen in itertools.product([False, True], repeat=len(weights)):
        path = x
        for take, w in zip(chosen, weights, strict=True):
            if take:
                path = path @ w
        sums[sum(chosen)] = sums[sum(chosen)] + path
    return tuple(sums)


def paths_from_the_longest_down(x, weights):  # in place, but longest first: each path takes a sublayer once
    paths = [x.clone()] + [torch.zeros_like(x) for _ in weights]
    for w in weights:
        for k in range(len(paths) - 1, 0, -1):
            paths[k] += paths[k - 1] @ w
    return paths


def paths_in_place_shortest_first(x, weights):
    paths = [x] + [torch.zeros_like(x) for _ in weights]
    for w in weights:
        for k in range(1, len(paths)):
            paths[k] = paths[k] + paths[k - 1] @ w
    return paths


def paths_reversed(x, weights):
    return paths_by_subsets(x, weights[::-1])


def stack_output(x, weights):
    for w in weights:
        x = x + x @ w
    return x


PATHS_CASES = [
    Passes(paths_by_length),
    Passes(paths_by_subsets),
    Passes(paths_from_the_longest_down),
    Fails(paths_in_place_shortest_first, ["❌ paths by length", "the same sublayer twice"]),
    Fails(paths_reversed, "the later sublayers come first"),
    Fails(lambda x, weights: paths_by_length(x, weights)[1:], ["expected 2 values (a tuple or a list), got a list of 1",
                                                               "no entry for the path through no sublayer"],
          id="sums[1:] as a list"),
    Fails(paths_w_at_h, ["raised RuntimeError", "h @ W, not W @ h"], id="W @ h order"),
    Fails(lambda x, weights: list(itertools.accumulate(paths_by_length(x, weights))), "UP TO k sublayers"),
    Fails(lambda x, weights: [x, *(x @ w for w in weights)], "what sublayer k alone adds"),
    Fails(stack_output, ["expected 2 values (a tuple or a list), got a tensor",
                         "you returned the stack's output itself"]),
    Fails(lambda x, weights: [2 * p for p in paths_by_length(x, weights)], ["item 0", "Hint: each skip block"]),
    *robustness(paths_by_length),
]


@pytest.mark.parametrize("case", PATHS_CASES, ids=str)
def test_check_paths_by_length(case):
    case.check(checks.check_paths_by_length)


def test_paths_add_up_to_the_residual_stack():
    x, weights = torch.randn(2, 3, 4), [torch.randn(4, 4) / 2 for _ in range(3)]
    assert torch.allclose(sum(paths_by_length(x, weights)), stack_output(x, weights), atol=1e-5)
