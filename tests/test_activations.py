import math

import pytest
import torch
from torch import nn

import helpers
from helpers import activations


@pytest.fixture
def model():
    torch.manual_seed(0)
    return helpers.TinyTransformer(10, 16, 3, 4, 8)


def hooks_left(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_records_input_and_each_block(model):
    idx = torch.randint(0, 10, (2, 6))
    recorded = activations.record_activations(model, idx)
    assert list(recorded) == ["input", "block 0", "block 1", "block 2"]
    assert all(t.shape == (2, 6, 16) for t in recorded.values())
    expected_input = model.token_embedding(idx) + model.positional(6)
    assert torch.allclose(recorded["input"], expected_input)
    assert torch.allclose(recorded["block 0"], model.blocks[0](expected_input), atol=1e-6)
    assert hooks_left(model) == 0


def test_hooks_are_removed_when_the_forward_pass_raises(model):
    with pytest.raises(TypeError):
        activations.record_activations(model, torch.zeros(2, 6))  # floats: the model refuses them
    assert hooks_left(model) == 0


def test_named_modules_and_sequential():
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    recorded = activations.record_activations(seq, torch.randn(3, 4), include_input=False)
    assert list(recorded) == ["layer 0", "layer 1", "layer 2"]
    assert (recorded["layer 1"] >= 0).all()
    named = activations.record_activations(seq, torch.randn(3, 4), modules={"first": seq[0]})
    assert list(named) == ["input", "first"]
    with pytest.raises(ValueError, match="pass modules="):
        activations.record_activations(nn.Linear(4, 4), torch.randn(3, 4))


def test_tensor_stats_against_hand_computation():
    x = torch.tensor([[[3.0, 4.0], [6.0, 8.0], [-3.0, -4.0]]])  # two tokens point the same way, one opposite
    stats = activations.tensor_stats(x)
    assert stats["mean"] == pytest.approx(x.mean().item())
    assert stats["std"] == pytest.approx(x.std().item())
    assert stats["rms"] == pytest.approx(math.sqrt((9 + 16 + 36 + 64 + 9 + 16) / 6))
    assert stats["max_abs"] == 8.0
    assert stats["cosine"] == pytest.approx((1 - 1 - 1) / 3)


def test_mean_pairwise_cosine_extremes():
    same = torch.ones(2, 5, 8)
    assert activations.mean_pairwise_cosine(same) == pytest.approx(1.0)
    orthogonal = torch.eye(4)[None]
    assert activations.mean_pairwise_cosine(orthogonal) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        activations.mean_pairwise_cosine(torch.ones(1, 1, 4))
    with pytest.raises(ValueError, match=r"got shape \(4,\)"):
        activations.mean_pairwise_cosine(torch.ones(4))


def test_activation_stats_and_format(model):
    stats = activations.activation_stats(model, torch.randint(0, 10, (2, 6)))
    table = activations.format_stats(stats, digits=2)
    lines = table.splitlines()
    assert lines[0].split() == ["layer", "mean", "std", "rms", "max_abs", "cosine"]
    assert len(lines) == 5 and lines[1].startswith("input")
    assert f"{stats['block 2']['rms']:.2f}" in lines[4]


def test_gradient_norms_per_block(model):
    with pytest.raises(ValueError, match="call loss.backward"):
        activations.gradient_norms(model)
    model(torch.randint(0, 10, (2, 6))).sum().backward()
    norms = activations.gradient_norms(model)
    assert list(norms) == ["block 0", "block 1", "block 2"]
    block0 = torch.cat([p.grad.flatten() for p in model.blocks[0].parameters()]).norm().item()
    assert norms["block 0"] == pytest.approx(block0)
    assert all(n > 0 for n in norms.values())


def test_offset_split_finds_a_shared_offset_and_adds_up_in_squares():
    g = torch.Generator().manual_seed(0)
    rest = torch.randn(4, 6, 8, generator=g)
    rest = rest - rest.mean(dim=(0, 1))
    offset = torch.linspace(-3.0, 3.0, 8)
    rms, offset_rms, rest_rms = helpers.activations.offset_split(rest + offset)
    assert offset_rms == pytest.approx(offset.pow(2).mean().sqrt().item(), abs=1e-5)
    assert rest_rms == pytest.approx(rest.pow(2).mean().sqrt().item(), abs=1e-5)
    assert rms**2 == pytest.approx(offset_rms**2 + rest_rms**2, rel=1e-5)
    assert helpers.activations.offset_split(rest)[1] < 1e-6
