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


def test_on_step_is_called_after_every_update_and_changes_nothing():
    task = ReverseTask(6, 6)
    seen = []
    with_hook = helpers.train(tiny_model(), task, steps=5, progress=False, on_step=seen.append)
    assert seen == [1, 2, 3, 4, 5]
    assert with_hook == helpers.train(tiny_model(), task, steps=5, progress=False)


def test_full_batch_regression_uses_mse():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    model = nn.Linear(3, 1)
    losses = helpers.train(model, (x, y), steps=200, lr=0.05, progress=False)
    assert losses[-1] < 1e-3 < losses[0]


def test_divergence_stops_early_says_where_and_keeps_finite_parameters(capsys):
    torch.manual_seed(0)
    x = torch.randn(32, 3) * 100
    model = nn.Linear(3, 1)
    losses = helpers.train(model, (x, x.sum(1, keepdim=True)), steps=200, lr=10.0, optimizer="sgd", progress=False)
    assert len(losses) < 200 and not math.isfinite(losses[-1])
    assert all(math.isfinite(v) for v in losses[:-1])
    assert all(p.isfinite().all() for p in model.parameters())
    assert f"at step {len(losses) - 1}; stopped there, the model keeps the parameters that gave this loss" in (
        capsys.readouterr().out
    )


def test_an_update_that_makes_parameters_non_finite_is_reported(capsys):
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    # a finite loss whose gradient is 1e38: one SGD step with lr=1e10 takes the weight to -inf
    x, y = torch.tensor([[1e38]]), torch.tensor([[0.0]])
    losses = helpers.train(model, (x, y), steps=5, lr=1e10, optimizer="sgd", loss_fn=lambda out, y: (out - y).sum())
    assert len(losses) == 2 and math.isfinite(losses[0]) and not math.isfinite(losses[1])
    assert model.weight.item() == -math.inf  # nothing is copied each step to undo it: train says so instead
    assert "at step 1; stopped there, the model has non-finite parameters: the last update made them so" in (
        capsys.readouterr().out
    )


def test_a_model_without_parameters_is_a_clear_error():
    with pytest.raises(ValueError, match="has no trainable parameters"):
        helpers.train(nn.ReLU(), (torch.zeros(2, 3), torch.zeros(2, 3)), steps=1)


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
    with pytest.raises(TypeError, match=r"pair of two torch.Tensors, got \[.int., .int., .int.\]"):
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


def reverser(seed, n_layers=2, norm="layer"):
    torch.manual_seed(seed)
    return helpers.TinyTransformer(8, 16, n_layers, 2, 6, causal=False, d_hidden=32, norm=norm)


@pytest.mark.parametrize("grad_clip", [None, 0.5])
def test_train_seeds_equals_training_each_seed_alone(grad_clip):
    task, seeds = ReverseTask(6, 6), [3, 0, 7]
    curves, models = helpers.train_seeds(reverser, task, seeds, steps=12, lr=1e-2, batch_size=8,
                                         grad_clip=grad_clip, progress=False)
    for seed, curve, model in zip(seeds, curves, models, strict=True):
        alone = reverser(seed)
        expected = helpers.train(alone, task, steps=12, lr=1e-2, batch_size=8, seed=seed, grad_clip=grad_clip,
                                 progress=False)
        assert curve == pytest.approx(expected, abs=1e-5)
        # outputs, not parameters: Adam moves the keys' bias, whose exact gradient is 0, on rounding noise
        x, _ = task.get_batch(16, torch.Generator().manual_seed(99))
        torch.testing.assert_close(model(x), alone(x), atol=1e-4, rtol=1e-4)
    assert curves[0] != curves[1], "each seed its own model and batches"


def test_train_seeds_trains_variants_of_one_architecture_in_one_pass():
    task = ReverseTask(6, 6)

    def small_branches(seed):
        model = reverser(seed, norm=None)
        with torch.no_grad():
            for block in model.blocks:
                block.mlp.fc_out.weight.mul_(0.1)
        return model

    both = helpers.train_seeds({"plain": lambda s: reverser(s, norm=None), "small": small_branches}, task, [1, 2],
                               steps=6, lr=1e-2, batch_size=8, progress=False)
    assert list(both) == ["plain", "small"]
    for name, make in (("plain", lambda s: reverser(s, norm=None)), ("small", small_branches)):
        alone_curves, _ = helpers.train_seeds(make, task, [1, 2], steps=6, lr=1e-2, batch_size=8, progress=False)
        for curve, alone in zip(both[name][0], alone_curves, strict=True):
            assert curve == pytest.approx(alone, abs=1e-5)
    assert both["plain"][0][0] != both["small"][0][0]


class Scaled(nn.Module):
    """A linear model whose input is multiplied by a fixed factor (a buffer): a large one makes SGD diverge."""

    def __init__(self, factor):
        super().__init__()
        self.register_buffer("factor", torch.tensor(float(factor)))
        self.linear = nn.Linear(3, 1)

    def forward(self, x):
        return self.linear(x * self.factor)


def test_train_seeds_cuts_a_diverged_seed_like_train_and_leaves_the_others_alone(capsys):
    torch.manual_seed(0)
    x = torch.randn(32, 3)
    data = (x, x.sum(1, keepdim=True))

    def make(seed):
        torch.manual_seed(seed)
        return Scaled(100.0 if seed == 1 else 1.0)

    curves, models = helpers.train_seeds(make, data, [0, 1], steps=60, lr=0.1, optimizer="sgd", progress=False)
    expected = [helpers.train(make(seed), data, steps=60, lr=0.1, optimizer="sgd", progress=False) for seed in (0, 1)]
    assert len(curves[0]) == 60 and curves[0] == pytest.approx(expected[0], abs=1e-5)
    assert len(curves[1]) == len(expected[1]) < 60 and not math.isfinite(curves[1][-1])
    assert all(p.isfinite().all() for model in models for p in model.parameters())


def test_evaluating_restores_the_previous_mode_even_after_an_exception():
    model = nn.Sequential(nn.Dropout(0.5)).train()
    with pytest.raises(RuntimeError, match="inside"):
        with helpers.training.evaluating(model):
            assert not model.training and not torch.is_grad_enabled()
            raise RuntimeError("inside")
    assert model.training and torch.is_grad_enabled()
    with helpers.training.evaluating(model.eval()):
        pass
    assert not model.training  # a model in eval mode stays in it
