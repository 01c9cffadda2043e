"""GPU readiness without a GPU: every layer, the model, `train` and the activation recorder run on the `meta` device.

A meta tensor has a shape, a dtype and a device but no values, so it stands in for a CUDA or MPS tensor: a CPU
tensor created inside helpers and mixed into a computation shows up here, where on a laptop it never would.
Two nets catch it: torch itself refuses most ops that mix meta and CPU tensors, and `no_device_mixing` below
fails any op that gets tensors on two devices (torch lets some through: `cpu_matrix @ meta_matrix` returns
a CPU tensor of garbage). Every output must come back on meta.

Only what needs values is left out, and it is left out by helpers' one documented flag
(`helpers._validate.has_values`): the checks that read a mask or token ids, the loss values that `train`
records (nan on meta), and the summaries that return Python numbers (tensor_stats, gradient_norms,
mean_pairwise_cosine, task.accuracy and the plots, which read values by design).
"""

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

import helpers
from helpers import activations, data, layers

META = torch.device("meta")


# Calls whose job is to move data between devices (module.to(device) uses the first): not a mix.
MOVES = {"_has_compatible_shallow_copy_type", "copy_"}


class NoDeviceMixing(TorchFunctionMode):
    """Fail any torch call whose tensor arguments sit on more than one device (CPU scalars aside, as torch)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", None) in MOVES:
            return func(*args, **kwargs)
        devices = {
            t.device
            for t in tree_leaves((args, kwargs))
            if isinstance(t, torch.Tensor) and not (t.dim() == 0 and t.device.type == "cpu")
        }
        if len(devices) > 1:
            raise AssertionError(f"{getattr(func, '__name__', func)} mixes devices {sorted(map(str, devices))}")
        return func(*args, **kwargs)


@pytest.fixture
def no_device_mixing():
    with NoDeviceMixing():
        yield


def test_the_detector_catches_what_torch_lets_through():
    with pytest.raises(AssertionError, match="mixes devices"), NoDeviceMixing():
        torch.ones(3, 3) @ torch.ones(3, 3, device=META)


def on_meta(*shape, dtype=torch.float32):
    return torch.zeros(*shape, device=META, dtype=dtype)


def assert_on_meta(*tensors):
    for t in tensors:
        assert t.device == META, f"an output came back on {t.device}"


def test_positions(no_device_mixing):
    assert_on_meta(layers.SinusoidalPositionalEncoding(16, 8).to(META)(5))
    assert_on_meta(layers.LearnedPositionalEmbedding(16, 8).to(META)(5))
    assert_on_meta(layers.causal_mask(4, device=META))


@pytest.mark.parametrize("mask", ["none", "causal flag", "bool from the CPU", "float from the CPU", "bool on meta"])
def test_attention(mask, no_device_mixing):
    q = on_meta(2, 3, 5, 4)
    masks = {
        "none": None,
        "causal flag": None,
        "bool from the CPU": layers.causal_mask(5),  # causal_mask() defaults to the CPU: moved to the scores
        "float from the CPU": torch.zeros(5, 5).masked_fill(~layers.causal_mask(5), float("-inf")),
        "bool on meta": layers.causal_mask(5, device=META),
    }
    out, weights = layers.attention(q, q, q, mask=masks[mask], causal=mask == "causal flag")
    assert_on_meta(out, weights)
    assert out.shape == (2, 3, 5, 4) and weights.shape == (2, 3, 5, 5)


@pytest.mark.parametrize("mask_shape", [None, (5, 5), (2, 5, 5), (2, 2, 5, 5)])
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention(mask_shape, causal, no_device_mixing):
    mha = layers.MultiHeadAttention(8, 2, causal=causal).to(META)
    mask = None if mask_shape is None else torch.ones(mask_shape, dtype=torch.bool)  # made on the CPU
    out = mha(on_meta(2, 5, 8), mask=mask)
    assert_on_meta(out, mha.weights)


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.MLP(8),
        lambda: layers.LayerNorm(8),
        lambda: layers.RMSNorm(8),
        lambda: layers.BatchNorm(8),
        lambda: layers.BatchNorm(8, momentum=None),
    ],
    ids=["MLP", "LayerNorm", "RMSNorm", "BatchNorm", "BatchNorm momentum=None"],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_mlp_and_norms_in_train_and_eval_mode(make, dtype, no_device_mixing):
    layer = make().to(META)
    if isinstance(layer, layers.MLP):
        layer = layer.to(dtype)
    for mode in (True, False):
        out = layer.train(mode)(on_meta(2, 5, 8, dtype=dtype))
        assert_on_meta(out, *layer.buffers())
        assert out.dtype == dtype


@pytest.mark.parametrize("norm", ["layer", "rms", "batch", None])
@pytest.mark.parametrize("norm_position", ["pre", "post"])
@pytest.mark.parametrize("skip", [True, False])
def test_transformer_block(norm, norm_position, skip, no_device_mixing):
    block = layers.TransformerBlock(8, 2, norm=norm, norm_position=norm_position, skip=skip, causal=True).to(META)
    x = on_meta(2, 5, 8).requires_grad_()
    out = block(x, mask=torch.ones(2, 5, 5, dtype=torch.bool))
    out.sum().backward()
    assert_on_meta(out, x.grad, *(p.grad for p in block.parameters()))


@pytest.mark.parametrize("positional", ["sinusoidal", "learned", None])
@pytest.mark.parametrize("causal", [True, False])
def test_tiny_transformer_forward_and_backward(positional, causal, no_device_mixing):
    model = layers.TinyTransformer(10, 16, 2, 4, 8, positional=positional, causal=causal).to(META)
    idx = torch.zeros(2, 6, dtype=torch.long, device=META)  # the token-id range check needs values: skipped on meta
    logits = model(idx)
    helpers.training.default_loss(logits, idx).backward()
    assert_on_meta(logits, *(p.grad for p in model.parameters()))


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_train_a_few_steps(optimizer, no_device_mixing):
    model = layers.TinyTransformer(10, 16, 2, 4, 8).to(META)
    # the task draws its batches on the CPU; train moves them to the model's device
    losses = helpers.train(model, data.ReverseTask(10, 6), steps=2, optimizer=optimizer, grad_clip=1.0, progress=False)
    assert len(losses) == 2  # nan: a loss on meta has no value to read
    assert_on_meta(*model.parameters())


def test_train_full_batch_regression_with_device_given(no_device_mixing):
    model = nn.Linear(3, 1)
    losses = helpers.train(model, (torch.zeros(8, 3), torch.zeros(8, 1)), steps=2, device=META, progress=False)
    assert len(losses) == 2
    assert_on_meta(*model.parameters())


def test_activation_recorder(no_device_mixing):
    model = layers.TinyTransformer(10, 16, 3, 4, 8).to(META)
    recorded = activations.record_activations(model, torch.zeros(2, 6, dtype=torch.long, device=META))
    assert list(recorded) == ["input", "block 0", "block 1", "block 2"]
    assert_on_meta(*recorded.values())
    named = {"attn": model.blocks[0].attn, "mlp": model.blocks[0].mlp}
    assert_on_meta(
        *activations.record_activations(model, torch.zeros(2, 6, dtype=torch.long, device=META), named).values()
    )
