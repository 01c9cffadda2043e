"""The checkers of notebook 08 (build your own GPT): a learner's model, right and with each known slip, and the
forward pass with a KV cache."""

import ast
import functools
import math
import pathlib
import re
import types

import nbformat
import pytest
import torch
from checker_testing import Fails, Passes
from torch import nn

from helpers import checks, layers
from helpers import language_model as lm
from helpers.language_model import forward_with_cache

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "notebooks" / "08_build_your_own_gpt.ipynb"


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads, scale=None, mask="causal", dim=-1):
        super().__init__()
        self.n_heads, self.scale, self.mask, self.dim = n_heads, scale, mask, dim
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        batch, seq, d_model = x.shape
        q, k, v = (t.view(batch, seq, self.n_heads, -1).transpose(1, 2) for t in self.in_proj(x).split(d_model, -1))
        scale = {None: math.sqrt(q.shape[-1]), "d_head": q.shape[-1]}.get(self.scale, self.scale)
        scores = q @ k.transpose(-2, -1) / scale
        below = torch.ones(seq, seq, dtype=torch.bool).tril()
        if self.mask == "causal":
            scores = scores.masked_fill(~below, float("-inf"))
        elif self.mask == "future":
            scores = scores.masked_fill(~below.T, float("-inf"))
        elif self.mask == "zero":  # masked_fill(~allowed, 0.0): the blocked scores still get weight
            scores = scores.masked_fill(~below, 0.0)
        elif self.mask == "no diagonal":  # tril(-1): position 0 has no key left, its softmax is nan
            scores = scores.masked_fill(~below.tril(-1), float("-inf"))
        weights = torch.softmax(scores, dim=self.dim)
        if self.mask == "after":
            weights = weights * below
        return self.out_proj((weights @ v).transpose(1, 2).reshape(batch, seq, d_model))


class MLP(nn.Module):
    def __init__(self, d_model, gelu="none"):
        super().__init__()
        self.fc_in, self.fc_out = nn.Linear(d_model, 4 * d_model), nn.Linear(4 * d_model, d_model)
        self.act = nn.GELU(approximate=gelu)

    def forward(self, x):
        return self.fc_out(self.act(self.fc_in(x)))


class Block(nn.Module):
    def __init__(self, d_model, n_heads, arrangement="pre", gelu="none", **attention):
        super().__init__()
        self.arrangement = arrangement
        self.norm1, self.attn = nn.LayerNorm(d_model), CausalSelfAttention(d_model, n_heads, **attention)
        self.norm2, self.mlp = nn.LayerNorm(d_model), MLP(d_model, gelu)

    def forward(self, x):
        if self.arrangement == "post":
            x = self.norm1(x + self.attn(x))
            return self.norm2(x + self.mlp(x))
        if self.arrangement == "no skip":
            return self.mlp(self.norm2(self.attn(self.norm1(x))))
        if self.arrangement == "one norm":
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm1(x))
        if self.arrangement == "mlp reads x":
            return x + self.attn(self.norm1(x)) + self.mlp(self.norm2(x))
        if self.arrangement == "no norm1":
            x = x + self.attn(x)
            return x + self.mlp(self.norm2(x))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def make_gpt(positions=True, final_norm=True, order=iter, tied=False, **block):
    class GPT(nn.Module):
        def __init__(self, vocab_size, d_model, n_layers, n_heads, max_len):
            super().__init__()
            self.vocab_size, self.max_len = vocab_size, max_len
            self.token_embedding = nn.Embedding(vocab_size, d_model)
            self.positional = layers.SinusoidalPositionalEncoding(max_len, d_model)
            self.blocks = nn.ModuleList(Block(d_model, n_heads, **block) for _ in range(n_layers))
            self.final_norm = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, vocab_size)
            if tied:  # as 07 teaches: head.weight = token_embedding.weight
                lm.tie_weights(self)

        def forward(self, idx):
            x = self.token_embedding(idx)
            if positions:
                x = x + self.positional(idx.shape[1])
            for b in order(self.blocks):
                x = b(x)
            return self.head(self.final_norm(x) if final_norm else x)

    return GPT


GPT = make_gpt()


class Stub(GPT):
    def forward(self, idx):
        raise NotImplementedError


class Renamed(GPT):
    def __init__(self, **config):
        super().__init__(**config)
        self.lm_head = self.head
        del self.head

    def forward(self, idx):
        return self.lm_head(self.final_norm(self.token_embedding(idx)))


class Flat(GPT):
    def forward(self, idx):
        return super().forward(idx)[:, -1]


class Raises(GPT):
    def forward(self, idx):
        raise RuntimeError("boom")


class WithLoss(GPT):
    def forward(self, idx):
        return super().forward(idx), None


FLAT = "the logits of EVERY position"  # the hint of each checker on a GPT that returns the last position only
PAIR = "not a (logits, loss) pair"


# ----------------------------------------------------------------------------- shapes and causality


@pytest.mark.parametrize(
    "case",
    [
        Passes(GPT, id="GPT"),
        Passes(layers.TinyTransformer, id="TinyTransformer"),
        Fails(Stub, "not implemented yet", id="stub", stub=True),
        Fails(Renamed, ["do not match the reference's", "lm_head"], id="renamed"),
        Fails(Flat, ["wrong shape: expected (2, 7, 11), got (2, 11)", FLAT], id="last position only"),
        Fails(WithLoss, ["got a tuple of 2", PAIR], id="a (logits, None) pair"),
        Fails(Raises, "RuntimeError: boom", id="raises"),
    ],
    ids=str,
)
def test_check_gpt_shapes(case):
    case.check(checks.check_gpt_shapes)


@pytest.mark.parametrize(
    "case",
    [
        Passes(GPT, id="GPT"),
        Fails(make_gpt(mask="after"), "BEFORE the softmax", id="mask after the softmax: the sum still sees the future"),
        Fails(make_gpt(mask=None), ["changing token 9 changed the output at position 0", "without it each position"]),
        Fails(make_gpt(mask="future"), ["changed the output at position", "upside down"], id="future mask"),
        Fails(make_gpt(mask="zero"), ["changed the output at position", "set to 0 before the softmax"], id="0 fill"),
        Fails(make_gpt(mask="no diagonal"), ["your logits hold nan or inf values", "its own position too"],
              id="nan: the diagonal masked too"),
        Fails(Flat, ["wrong shape", FLAT], id="last position only: a message, not an IndexError"),
        Fails(WithLoss, ["got a tuple of 2", PAIR], id="a (logits, None) pair: a message, not a TypeError"),
        Fails(Stub, "not implemented yet", id="stub", stub=True),
    ],
    ids=str,
)
def test_check_gpt_causal(case):
    case.check(checks.check_gpt_causal)


# ----------------------------------------------------------------------------- equality, located part by part

EQUAL_CASES = [
    Passes(GPT, id="GPT"),
    Fails(Stub, "not implemented yet", id="stub", stub=True),
    Fails(make_gpt(scale=4.0), ["block 0's attention", "d_head, the width of ONE head"], id="scale d_model"),
    Fails(make_gpt(scale=1.0), ["block 0's attention", "square root of d_head"], id="no scale"),
    Fails(make_gpt(mask=None), ["block 0's attention", "without it each position sees the future"], id="no mask"),
    Fails(make_gpt(mask="future"), ["block 0's attention", "upside down"], id="future mask"),
    Fails(make_gpt(mask="after"), ["block 0's attention", "BEFORE the softmax"], id="mask after softmax"),
    Fails(make_gpt(arrangement="post"), ["block 0", "norm placement"], id="post-norm"),
    Fails(make_gpt(arrangement="no norm1"), ["block 0", "norm placement"], id="no norm1"),
    Fails(make_gpt(arrangement="no skip"), ["block 0", "residual"], id="no skip"),
    Fails(make_gpt(final_norm=False), ["the final norm and head", "final norm is missing"], id="no final norm"),
    Fails(make_gpt(positions=False), ["input of block 0", "positions are missing"], id="no positions"),
    Fails(make_gpt(arrangement="one norm"), ["block 0", "its own norm, norm2 before the MLP"], id="norm1 twice"),
    Fails(make_gpt(arrangement="mlp reads x"), ["block 0", "MLP reads norm2 of the stream after"], id="parallel"),
    Fails(Renamed, "do not match the reference's", id="renamed"),
    Fails(make_gpt(order=reversed), ["the order of the blocks", "[1, 0]", "block 0 first"], id="blocks reversed"),
    Fails(make_gpt(scale="d_head"), ["block 0's attention", "divided by d_head itself"], id="d_head without the root"),
    Fails(make_gpt(dim=-2), ["block 0's attention", "softmax runs over the queries"], id="softmax over dim=-2"),
    Fails(make_gpt(mask="zero"), ["block 0's attention", "set to 0 before the softmax", "minus infinity"], id="0 fill"),
    Fails(make_gpt(gelu="tanh"), ["block 0's MLP", "tanh approximation"], id="GELU tanh approximation"),
    Fails(make_gpt(tied=True), ["token_embedding.weight and head.weight", "weights tied", "untied"], id="tied"),
    Fails(Flat, ["wrong shape", FLAT], id="last position only: a message, not an exception"),
    Fails(WithLoss, ["got a tuple of 2", PAIR], id="a (logits, None) pair: a message, not an exception"),
]


@pytest.mark.parametrize("case", EQUAL_CASES, ids=str)
def test_check_gpt_equal(case):
    case.check(checks.check_gpt_equal)


def test_yours_or_reference_picks_the_learner_model_only_when_it_passes(capsys):
    assert checks.yours_or_reference(GPT, layers.TinyTransformer, checks.check_gpt_equal) is GPT
    assert "Your GPT passes its check: the cells below use it." in capsys.readouterr().out
    for unfinished in (Stub, make_gpt(mask=None)):
        assert (
            checks.yours_or_reference(unfinished, layers.TinyTransformer, checks.check_gpt_equal)
            is layers.TinyTransformer
        )
        assert "the cells below use helpers.TinyTransformer instead" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the KV cache


def cached(model, ids, cache, slip=None):
    """A learner's forward_with_cache, written apart from helpers' (the mask built from the keys it attends to),
    right or with one slip."""
    n_cached = cache[0]["k"].shape[1 if slip == "k.shape[1]" else 2] if cache[0] else 0
    new = ids.shape[1]
    start = {"positions -1": n_cached - 1 if n_cached else 0, "positions +1": n_cached + 1}.get(slip, n_cached)
    start = 0 if slip == "positions restart" else start
    x = model.token_embedding(ids) + model.positional(start + new)[start:]
    for block, kv in zip(model.blocks, cache, strict=True):
        q, k, v = (layers.split_heads(t, block.attn.n_heads) for t in block.attn.in_proj(block.norm1(x)).chunk(3, -1))
        if kv and slip in ("k, v swapped", "k, v stored swapped"):  # read swapped (right if stored swapped too)
            k, v = torch.cat([kv["v"], k], dim=2), torch.cat([kv["k"], v], dim=2)
        elif kv:
            k, v = torch.cat([kv["k"], k], dim=2), torch.cat([kv["v"], v], dim=2)
        kv["k"], kv["v"] = (v, k) if slip == "k, v stored swapped" else (k, v)
        allowed = torch.ones(new, k.shape[2], dtype=torch.bool)
        if slip != "mask for the prompt only" or not kv or k.shape[2] == new:
            allowed = allowed.tril(diagonal=k.shape[2] - new)
        x = x + block.attn.out_proj(layers.merge_heads(layers.attention(q, k, v, mask=allowed)[0]))
        x = x + block.mlp(block.norm2(x))
    return model.head(model.final_norm(x))


def slipped(slip):
    fn = functools.partial(cached, slip=slip)
    fn.__name__ = "forward_with_cache"
    return fn


def recomputes(model, ids, cache):
    """The ids kept in cache[0], the whole text run again at each call, the keys and values refilled."""
    every = torch.cat([cache[0]["ids"], ids], dim=1) if cache[0] else ids
    fresh = [{} for _ in cache]
    logits = forward_with_cache(model, every, fresh)[:, -ids.shape[1] :]
    for kv, full in zip(cache, fresh, strict=True):
        kv.update(full)
    cache[0]["ids"] = every
    return logits


def no_past(model, ids, cache):
    for kv in cache:
        kv.clear()
    return forward_with_cache(model, ids, cache)


def no_prompt_mask(model, ids, cache):
    """The prompt's tokens see each other both ways (no mask); the steps after it are right."""
    logits = forward_with_cache(model, ids, cache)
    if ids.shape[1] == 1:
        return logits
    bidirectional = layers.TinyTransformer(**checks.capstone.SMALL, causal=False).eval()
    bidirectional.load_state_dict(model.state_dict())
    return bidirectional(ids)


def unnormed_keys(model, ids, cache):
    """Keys and values from the stream itself, not from norm1 of it."""
    plain = types.SimpleNamespace(**dict(model.named_children()))
    plain.blocks = [types.SimpleNamespace(**{**dict(b.named_children()), "norm1": nn.Identity()}) for b in model.blocks]
    return forward_with_cache(plain, ids, cache)


def keeps_nothing(model, ids, cache):
    return model(ids)


@pytest.mark.parametrize(
    "case",
    [
        Passes(forward_with_cache),
        Passes(cached, id="a learner's cache (the mask built from the keys)"),
        Fails(lambda m, i, c: (_ for _ in ()).throw(NotImplementedError), "not implemented yet", id="stub", stub=True),
        Fails(recomputes, ["positions 4-6", "ran token_embedding on 7 tokens", "never computed again"],
              id="a cache that recomputes everything"),
        Fails(slipped("mask for the prompt only"), ["3 new tokens at once, at positions 4-6", "causal mask among "
              "themselves too"], id="a mask built only for the prompt (chunked prefill)"),
        Fails(slipped("positions restart"), "positions from 0 again"),
        Fails(slipped("positions -1"), ["positions 4-6", "one too low"], id="positions off by one, -1"),
        Fails(slipped("positions +1"), ["for the prompt", "one too high"], id="positions off by one, +1"),
        Fails(slipped("k.shape[1]"), ["positions 4-6", "dimension 1 is n_heads"], id="t_past from k.shape[1]"),
        Fails(slipped("k, v swapped"), ["positions 4-6", "k and v are swapped"], id="k and v swapped on reading"),
        Fails(slipped("k, v stored swapped"), ["block 0's cached 'k' differs", "yours are swapped"],
              id="k and v stored swapped"),
        Fails(no_past, "saw only themselves"),
        Fails(no_prompt_mask, "causal mask among themselves."),
        Fails(unnormed_keys, "keys and values from norm1"),
        Fails(keeps_nothing, "the cache holds [None", id="no cache at all"),
        Fails(lambda m, i, c: forward_with_cache(m, i, c)[:, -1], "wrong shape", id="last position only"),
        Fails(lambda m, i, c: None, "returned None", id="none"),
        Fails(lambda m, i, c: 1 / 0, "ZeroDivisionError", id="raises"),
        Fails(42, "expected a function, got an int", id="not callable"),
    ],
    ids=str,
)
def test_check_forward_with_cache(case):
    case.check(checks.check_forward_with_cache)


# ----------------------------------------------------------------------------- the notebook's words


def labels_that_say_yours(source):
    """String pieces in code that call something "your"/"yours" unconditionally: outside a conditional expression
    (x if ... else y), a printed label cannot change when the cell runs helpers' part in place of the learner's."""
    tree = ast.parse(source)
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"\byours?\b", node.value, re.I)
        and not isinstance(parents.get(id(node)), ast.IfExp)
    ]


def test_08_never_calls_the_references_numbers_yours():
    """After yours_or_reference picks the learner's part or helpers', every printed "your"/"yours" depends on which
    (an untouched notebook runs helpers.TinyTransformer and lm.forward_with_cache)."""
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    first = next(i for i, source in enumerate(cells) if "yours_or_reference(" in source)
    found = [(i, label) for i, source in enumerate(cells[first:], first) for label in labels_that_say_yours(source)]
    assert not found, found
    assert labels_that_say_yours('print(f"yours {x}")\nlabel = "your model" if mine else "the reference"') == ["yours "]
