import math

import pytest
import torch
from torch import nn

import helpers
from helpers.data import ReverseTask


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return helpers.TinyTransformer(6, 16, 1, 2, 6, causal=False)


def test_training_lowers_the_loss():
    losses = helpers.train(tiny_model(), ReverseTask(6, 6), steps=60, lr=1e-2, progress=False)
    assert len(losses) == 60
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10


def test_same_seed_same_losses_and_other_seed_other_data():
    task = ReverseTask(6, 6)
    first = helpers.train(tiny_model(), task, steps=10, progress=False, seed=3)
    again = helpers.train(tiny_model(), task, steps=10, progress=False, seed=3)
    other = helpers.train(tiny_model(), task, steps=10, progress=False, seed=4)
    assert first == again
    assert first != other


def test_full_batch_regression_uses_mse():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    model = nn.Linear(3, 1)
    losses = helpers.train(model, (x, y), steps=200, lr=0.05, progress=False)
    assert losses[-1] < 1e-3 < losses[0]


def test_divergence_stops_early():
    torch.manual_seed(0)
    x = torch.randn(32, 3) * 100
    losses = helpers.train(
        nn.Linear(3, 1), (x, x.sum(1, keepdim=True)), steps=200, lr=10.0, optimizer="sgd", progress=False
    )
    assert len(losses) < 200 and not math.isfinite(losses[-1])


def test_a_function_as_data():
    calls = []

    def data(batch_size, generator):
        calls.append(batch_size)
        return torch.randint(0, 6, (batch_size, 6), generator=generator), torch.zeros(batch_size, 6, dtype=torch.long)

    helpers.train(tiny_model(), data, steps=3, batch_size=5, progress=False)
    assert calls == [5, 5, 5]


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"optimizer must be one of \['adam', 'adamw', 'sgd'\]"):
        helpers.train(tiny_model(), ReverseTask(6, 6), steps=1, optimizer="lion")
    with pytest.raises(TypeError, match="data must be"):
        helpers.train(tiny_model(), [1, 2, 3], steps=1)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        helpers.train(tiny_model(), ReverseTask(6, 6), steps=0)


def test_progress_bar_follows_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_PROGRESS", "0")
    helpers.train(tiny_model(), ReverseTask(6, 6), steps=2)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("WORKSHOP_PROGRESS", "1")
    helpers.train(tiny_model(), ReverseTask(6, 6), steps=2, desc="demo")
    assert "demo" in capsys.readouterr().err
