"""The checkers of notebook 05 (normalization): the reference passes, known mistakes get their hint,
a function that raises gets a message, never a traceback."""

import torch
import torch.nn.functional as F

import helpers
from helpers import checks


def layer_norm(x, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps)


def rms_norm(x, eps=1e-6):
    return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


# ----------------------------------------------------------------------------- layer norm (exercise 1)


def test_check_layer_norm_accepts_the_reference(capsys):
    assert checks.check_layer_norm(layer_norm)
    assert "✅ layer norm: passed (2 test cases)" in capsys.readouterr().out


def test_check_layer_norm_rejects_batch_norm_axes(capsys):
    def over_the_batch(x, eps=1e-5):  # batch norm's axes: every dim but the features
        dims = tuple(range(x.dim() - 1))
        return (x - x.mean(dim=dims)) / torch.sqrt(x.var(dim=dims, unbiased=False) + eps)

    assert not checks.check_layer_norm(over_the_batch)
    out = capsys.readouterr().out
    assert "❌ layer norm" in out
    assert "Hint: normalize each token over its features" in out


def test_check_layer_norm_rejects_the_unbiased_variance(capsys):
    def unbiased(x, eps=1e-5):
        return (x - x.mean(dim=-1, keepdim=True)) / torch.sqrt(x.var(dim=-1, keepdim=True) + eps)

    assert not checks.check_layer_norm(unbiased)
    out = capsys.readouterr().out
    assert "values are off by up to" in out
    assert "unbiased=False" in out


def test_check_layer_norm_reports_an_error_without_traceback(capsys):
    def crashes(x, eps=1e-5):
        return x.mean(dim=3)  # no such dimension

    assert not checks.check_layer_norm(crashes)
    out = capsys.readouterr().out
    assert "your function raised IndexError" in out
    assert "Traceback" not in out


# ----------------------------------------------------------------------------- RMSNorm (exercise 2)


def test_check_rms_norm_accepts_the_reference(capsys):
    assert checks.check_rms_norm(rms_norm)
    assert "✅ RMSNorm: passed (3 test cases)" in capsys.readouterr().out


def test_check_rms_norm_reference_equals_the_layers():
    x = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(0)) * 2 + 1
    assert torch.allclose(rms_norm(x), helpers.RMSNorm(8)(x), atol=1e-6)
    assert torch.allclose(rms_norm(x), torch.nn.RMSNorm(8, eps=1e-6)(x), atol=1e-6)


def test_check_rms_norm_names_layer_norm(capsys):
    assert not checks.check_rms_norm(lambda x, eps=1e-6: F.layer_norm(x, x.shape[-1:], eps=eps))
    out = capsys.readouterr().out
    assert "❌ RMSNorm" in out
    assert "Hint: your result matches layer norm" in out


def test_check_rms_norm_names_a_missing_square_root(capsys):
    assert not checks.check_rms_norm(lambda x, eps=1e-6: x / (x.pow(2).mean(dim=-1, keepdim=True) + eps))
    assert "Hint: you divided by the mean square, not its square root" in capsys.readouterr().out


def test_check_rms_norm_names_eps_outside_the_root(capsys):
    assert not checks.check_rms_norm(lambda x, eps=1e-6: x / (x.pow(2).mean(dim=-1, keepdim=True).sqrt() + eps))
    out = capsys.readouterr().out
    assert "tiny values" in out  # the case where eps matters is the one that fails
    assert "Hint: eps belongs inside the square root" in out


def test_check_rms_norm_names_the_wrong_axis(capsys):
    assert not checks.check_rms_norm(lambda x, eps=1e-6: x / torch.sqrt(x.pow(2).mean(dim=0, keepdim=True) + eps))
    assert "Hint: you normalized over the wrong axis" in capsys.readouterr().out


def test_check_rms_norm_gives_the_generic_hint_otherwise(capsys):
    assert not checks.check_rms_norm(lambda x, eps=1e-6: 2 * rms_norm(x, eps))
    assert "Hint: rms = torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)" in capsys.readouterr().out


def test_check_rms_norm_reports_an_error_without_traceback(capsys):
    def crashes(x, eps=1e-6):
        return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdims=True, keep=True) + eps)

    assert not checks.check_rms_norm(crashes)
    out = capsys.readouterr().out
    assert "your function raised TypeError" in out
    assert "Traceback" not in out


def test_check_rms_norm_says_not_implemented(capsys):
    def stub(x, eps=1e-6):
        raise NotImplementedError

    assert not checks.check_rms_norm(stub)
    assert "not implemented yet" in capsys.readouterr().out


def test_check_rms_norm_rejects_a_non_function(capsys):
    assert not checks.check_rms_norm(None)
    assert "expected a function" in capsys.readouterr().out
