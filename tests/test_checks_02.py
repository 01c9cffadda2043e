"""The checkers of notebook 02 (attention): the reference passes, known mistakes get their hint, errors no traceback."""

import torch

from helpers import checks


def causal_mask(seq_len):
    return torch.ones(seq_len, seq_len, dtype=torch.bool).tril()


def split_heads(x, n_heads):
    batch, seq, d_model = x.shape
    return x.view(batch, seq, n_heads, d_model // n_heads).transpose(1, 2)


def merge_heads(x):
    batch, n_heads, seq, d_head = x.shape
    return x.transpose(1, 2).reshape(batch, seq, n_heads * d_head)


def test_check_causal_mask_accepts_the_reference(capsys):
    assert checks.check_causal_mask(causal_mask)
    assert "✅ causal mask: passed (3 test cases)" in capsys.readouterr().out


def test_check_causal_mask_accepts_a_comparison():
    assert checks.check_causal_mask(lambda n: torch.arange(n)[None, :] <= torch.arange(n)[:, None])


def test_check_causal_mask_names_the_blocking_convention(capsys):
    assert not checks.check_causal_mask(lambda n: ~causal_mask(n))
    out = capsys.readouterr().out
    assert "❌ causal mask: for seq_len=4" in out
    assert "Hint: yours is True where j > i" in out


def test_check_causal_mask_names_the_future_and_the_diagonal(capsys):
    assert not checks.check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool).triu())
    assert "the FUTURE" in capsys.readouterr().out
    assert not checks.check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool).tril(-1))
    assert "hides the diagonal" in capsys.readouterr().out


def test_check_causal_mask_rejects_a_float_mask(capsys):
    assert not checks.check_causal_mask(lambda n: torch.ones(n, n).tril())
    out = capsys.readouterr().out
    assert "expected a boolean tensor (dtype torch.bool), got dtype torch.float32" in out
    assert "would hide nothing" in out


def test_check_causal_mask_reports_an_error_without_traceback(capsys):
    def broken(seq_len):
        return torch.ones(seq_len).tril()  # tril needs 2-D

    assert not checks.check_causal_mask(broken)
    captured = capsys.readouterr()
    assert "your function raised RuntimeError" in captured.out
    assert "Traceback" not in captured.out + captured.err


def test_check_causal_mask_not_implemented_and_not_callable(capsys):
    def causal_mask_todo(seq_len):
        raise NotImplementedError

    assert not checks.check_causal_mask(causal_mask_todo)
    assert "not implemented yet" in capsys.readouterr().out
    assert not checks.check_causal_mask(causal_mask(3))
    assert "expected a function, got a tensor of shape (3, 3)" in capsys.readouterr().out


def test_check_split_heads_accepts_the_reference(capsys):
    assert checks.check_split_heads(split_heads)
    assert "✅ split heads: passed (3 test cases)" in capsys.readouterr().out
    assert checks.check_split_heads(lambda x, h: x.unflatten(-1, (h, -1)).permute(0, 2, 1, 3))


def test_check_split_heads_names_a_straight_reshape(capsys):
    assert not checks.check_split_heads(lambda x, h: x.reshape(x.shape[0], h, x.shape[1], x.shape[2] // h))
    out = capsys.readouterr().out
    assert "❌ split heads: for x of shape (2, 5, 8), n_heads=2: values are off" in out
    assert "Hint: yours reshapes straight to (batch, n_heads, seq, d_head)" in out


def test_check_split_heads_names_a_missing_transpose_and_strided_heads(capsys):
    assert not checks.check_split_heads(lambda x, h: x.view(x.shape[0], x.shape[1], h, -1))
    out = capsys.readouterr().out
    assert "wrong shape: expected (2, 2, 5, 4), got (2, 5, 2, 4)" in out
    assert "Hint: yours has the heads after seq" in out
    assert not checks.check_split_heads(lambda x, h: x.view(x.shape[0], x.shape[1], -1, h).permute(0, 3, 1, 2))
    assert "every n_heads-th feature" in capsys.readouterr().out


def test_check_split_heads_reports_an_error_without_traceback(capsys):
    assert not checks.check_split_heads(lambda x, h: x.view(x.shape[0], h, -1, x.shape[1]).transpose(1, 2).view(1))
    captured = capsys.readouterr()
    assert "your function raised RuntimeError" in captured.out
    assert "Traceback" not in captured.out + captured.err


def test_check_merge_heads_accepts_the_reference(capsys):
    assert checks.check_merge_heads(merge_heads)
    assert "✅ merge heads: passed (3 test cases)" in capsys.readouterr().out


def test_merge_undoes_split():
    x = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(merge_heads(split_heads(x, 4)), x)


def test_check_merge_heads_names_a_missing_transpose_and_interleaved_heads(capsys):
    assert not checks.check_merge_heads(lambda x: x.reshape(x.shape[0], x.shape[2], -1))
    out = capsys.readouterr().out
    assert "❌ merge heads: for x of shape (2, 2, 5, 4): values are off" in out
    assert "Hint: yours reshapes without moving the heads back" in out
    assert not checks.check_merge_heads(lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], -1))
    assert "interleaves the heads' features" in capsys.readouterr().out


def test_check_merge_heads_explains_view_after_transpose(capsys):
    assert not checks.check_merge_heads(lambda x: x.transpose(1, 2).view(x.shape[0], x.shape[2], -1))
    captured = capsys.readouterr()
    assert "your function raised RuntimeError" in captured.out
    assert "use .reshape" in captured.out
    assert "Traceback" not in captured.out + captured.err
