"""The checkers of notebook 08 (build your own GPT): a learner's model, right and with each known slip, and the
forward pass with a KV cache."""

import math
import types

import pytest
import torch
from checker_testing import Fails, Passes
from torch import nn

from helpers import checks, layers
from helpers.language_model import forward_with_cache


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads, scale=None, mask="causal"):
        super().__init__()
        self.n_heads, self.scale, self.mask = n_heads, scale, mask
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        batch, seq, d_model = x.shape
        q, k, v = (t.view(batch, seq, self.n_heads, -1).transpose(1, 2) for t in self.in_proj(x).split(d_model, -1))
        scores = q @ k.transpose(-2, -1) / (self.scale or math.sqrt(q.shape[-1]))
        below = torch.ones(seq, seq, dtype=torch.bool).tril()
        if self.mask == "causal":
            scores = scores.masked_fill(~below, float("-inf"))
        elif self.mask == "future":
            scores = scores.masked_fill(~below.T, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        if self.mask == "after":
            weights = weights * below
        return self.out_proj((weights @ v).transpose(1, 2).reshape(batch, seq, d_model))


class MLP(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.fc_in, self.act, self.fc_out = nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model)

    def forward(self, x):
        return self.fc_out(self.act(self.fc_in(x)))


class Block(nn.Module):
    def __init__(self, d_model, n_heads, arrangement="pre", **attention):
        super().__init__()
        self.arrangement = arrangement
        self.norm1, self.attn = nn.LayerNorm(d_model), CausalSelfAttention(d_model, n_heads, **attention)
        self.norm2, self.mlp = nn.LayerNorm(d_model), MLP(d_model)

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


def make_gpt(positions=True, final_norm=True, **block):
    class GPT(nn.Module):
        def __init__(self, vocab_size, d_model, n_layers, n_heads, max_len):
            super().__init__()
            self.vocab_size, self.max_len = vocab_size, max_len
            self.token_embedding = nn.Embedding(vocab_size, d_model)
            self.positional = layers.SinusoidalPositionalEncoding(max_len, d_model)
            self.blocks = nn.ModuleList(Block(d_model, n_heads, **block) for _ in range(n_layers))
            self.final_norm = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, vocab_size)

        def forward(self, idx):
            x = self.token_embedding(idx)
            if positions:
                x = x + self.positional(idx.shape[1])
            for b in self.blocks:
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


# ----------------------------------------------------------------------------- shapes and causality


@pytest.mark.parametrize(
    "case",
    [
        Passes(GPT, id="GPT"),
        Passes(layers.TinyTransformer, id="TinyTransformer"),
        Fails(Stub, "not implemented yet", id="stub", stub=True),
        Fails(Renamed, ["do not match the reference's", "lm_head"], id="renamed"),
        Fails(Flat, "wrong shape: expected (2, 7, 11), got (2, 11)", id="last position only"),
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
        Fails(make_gpt(mask="after"), "before the softmax", id="mask after the softmax: the sum still sees the future"),
        Fails(make_gpt(mask=None), ["changing token 9 changed the output at position 0", "before the softmax"]),
        Fails(make_gpt(mask="future"), "changed the output at position", id="future mask"),
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


def positions_restart(model, ids, cache):
    """Every call numbers its tokens from 0."""
    shifted = types.SimpleNamespace(**dict(model.named_children()))
    shifted.positional = lambda n: torch.cat([model.positional(n)[: n - ids.shape[1]], model.positional(ids.shape[1])])
    return forward_with_cache(shifted, ids, cache)


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
        Fails(lambda m, i, c: (_ for _ in ()).throw(NotImplementedError), "not implemented yet", id="stub", stub=True),
        Fails(positions_restart, "got position 0"),
        Fails(no_past, "saw only itself"),
        Fails(no_prompt_mask, "causal mask among themselves"),
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
