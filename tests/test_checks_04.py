"""The checkers of notebook 04 (skip connections): the reference passes, known mistakes get their hint,
a function that raises gets a message, never a traceback."""

import torch
import torch.nn.functional as F

import helpers
from helpers import checks


def residual_forward(x, sublayers):
    for f in sublayers:
        x = x + f(x)
    return x


def test_check_residual_forward_accepts_the_reference(capsys):
    assert checks.check_residual_forward(residual_forward)
    assert "✅ residual forward: passed (4 test cases)" in capsys.readouterr().out


def test_check_residual_forward_agrees_with_the_helpers_block():
    torch.manual_seed(0)
    block = helpers.TransformerBlock(8, 2, skip=True, norm=None)
    x = torch.randn(2, 3, 8)
    assert torch.allclose(residual_forward(x, [block.attn, block.mlp]), block(x))


def test_check_residual_forward_names_a_missing_skip(capsys):
    def no_skip(x, sublayers):
        for f in sublayers:
            x = f(x)
        return x

    assert not checks.check_residual_forward(no_skip)
    out = capsys.readouterr().out
    assert "❌ residual forward" in out
    assert "Hint: your result has no skip connection" in out


def test_check_residual_forward_names_the_parallel_mistake(capsys):
    assert not checks.check_residual_forward(lambda x, sublayers: x + sum(f(x) for f in sublayers))
    assert "every sublayer read the ORIGINAL x" in capsys.readouterr().out


def test_check_residual_forward_names_one_skip_around_the_stack(capsys):
    def one_skip(x, sublayers):
        h = x
        for f in sublayers:
            h = f(h)
        return x + h

    assert not checks.check_residual_forward(one_skip)
    assert "a skip goes around EACH sublayer" in capsys.readouterr().out


def test_check_residual_forward_reports_an_error_without_traceback(capsys):
    def crashes(x, sublayers):
        return x + sublayers(x)  # calls the list instead of its items

    assert not checks.check_residual_forward(crashes)
    out = capsys.readouterr().out
    assert "your function raised TypeError" in out
    assert "Traceback" not in out
    assert "Hint: loop over the sublayers" in out  # the general hint


def test_check_residual_forward_not_implemented(capsys):
    def residual(x, sublayers):
        raise NotImplementedError

    assert not checks.check_residual_forward(residual)
    assert "not implemented yet" in capsys.readouterr().out


def cosine(x):
    unit = F.normalize(x, dim=-1)
    sims = unit @ unit.transpose(-2, -1)
    seq = x.shape[-2]
    return ((sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))).mean()


def test_check_mean_pairwise_cosine_accepts_the_reference_and_helpers(capsys):
    assert checks.check_mean_pairwise_cosine(cosine)
    assert "✅ mean pairwise cosine: passed (4 test cases)" in capsys.readouterr().out
    assert checks.check_mean_pairwise_cosine(helpers.activations.mean_pairwise_cosine)
    assert checks.check_mean_pairwise_cosine(lambda x: cosine(x).item())  # a float is fine too


def test_check_mean_pairwise_cosine_names_the_diagonal(capsys):
    def with_diagonal(x):
        unit = F.normalize(x, dim=-1)
        return (unit @ unit.transpose(-2, -1)).mean()

    assert not checks.check_mean_pairwise_cosine(with_diagonal)
    out = capsys.readouterr().out
    assert "❌ mean pairwise cosine" in out
    assert "leave out the diagonal" in out


def test_check_mean_pairwise_cosine_names_one_number_per_sequence(capsys):
    def per_sequence(x):
        unit = F.normalize(x, dim=-1)
        sims = unit @ unit.transpose(-2, -1)
        seq = x.shape[-2]
        return (sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))

    assert not checks.check_mean_pairwise_cosine(per_sequence)
    out = capsys.readouterr().out
    assert "expected a number, got a tensor of shape (2,)" in out
    assert "average over the batch as well" in out


def test_check_mean_pairwise_cosine_names_raw_dot_products_and_the_wrong_axis(capsys):
    assert not checks.check_mean_pairwise_cosine(_raw)
    assert "raw dot products" in capsys.readouterr().out
    assert not checks.check_mean_pairwise_cosine(_wrong_axis)
    assert "wrong axis" in capsys.readouterr().out


def _raw(x):
    sims = x @ x.transpose(-2, -1)
    seq = x.shape[-2]
    return ((sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))).mean()


def _wrong_axis(x):
    unit = F.normalize(x, dim=-2)
    sims = unit @ unit.transpose(-2, -1)
    seq = x.shape[-2]
    return ((sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))).mean()


def test_check_mean_pairwise_cosine_reports_an_error_without_traceback(capsys):
    assert not checks.check_mean_pairwise_cosine(lambda x: x @ x)  # (2, 5, 8) @ (2, 5, 8) does not line up
    out = capsys.readouterr().out
    assert "your function raised RuntimeError" in out
    assert "Traceback" not in out
    assert "Hint: unit = x / x.norm" in out
