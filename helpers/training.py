"""A tiny, readable training loop: the same seed gives the same losses, on any device."""

import math
import os

import torch
import torch.nn.functional as F
from tqdm.auto import trange

from ._validate import check_positive_int, has_values
from .data import IGNORE

PROGRESS_ENV = "WORKSHOP_PROGRESS"  # WORKSHOP_PROGRESS=0 hides the bars (the test suite sets it)
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def _batches(data, batch_size, generator):
    """A fixed (x, y) pair is full-batch training; a task object or a function draws a new batch."""
    if isinstance(data, tuple) and len(data) == 2:
        return lambda: data
    if hasattr(data, "get_batch"):
        return lambda: data.get_batch(batch_size, generator)
    if callable(data):
        return lambda: data(batch_size, generator)
    raise TypeError(
        "data must be an (x, y) tuple, an object with get_batch(batch_size, generator), "
        f"or a function (batch_size, generator) -> (x, y); got {type(data).__name__}"
    )


def default_loss(output, y):
    """Cross-entropy for integer targets (scored positions only), mean squared error for float targets."""
    for name, t in (("output", output), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if y.is_floating_point():
        if output.shape != y.shape:  # mse_loss would broadcast them, with only a warning
            raise ValueError(
                f"float targets: output shape {tuple(output.shape)} must equal y shape {tuple(y.shape)} "
                "for the squared error"
            )
        return F.mse_loss(output, y)
    if output.shape[:-1] != y.shape:
        raise ValueError(
            f"integer targets: output shape {tuple(output.shape)} must be y shape {tuple(y.shape)} plus a last "
            "dimension of scores per class"
        )
    return F.cross_entropy(output.reshape(-1, output.shape[-1]), y.reshape(-1), ignore_index=IGNORE)


def train(
    model,
    data,
    steps,
    lr=1e-3,
    batch_size=32,
    optimizer="adam",
    loss_fn=default_loss,
    seed=0,
    grad_clip=None,
    device=None,
    progress=None,
    desc="training",
    on_step=None,
):
    """Train `model` for `steps` optimizer steps and return the list of per-step losses.

    `on_step(steps_done)`, if given, is called after every update (e.g. to measure a validation loss).

    If the loss becomes inf or nan (training diverged), training stops there and says at which step:
    the returned list is shorter than `steps` and ends with that value, and the model keeps its last
    finite parameters (no update is made from a non-finite loss). `progress=None` shows a tqdm bar
    unless WORKSHOP_PROGRESS=0 is set. On the meta device (shapes only, no values: the device-mixing
    test uses it) no loss can be read: the losses are nan and the divergence check is skipped.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"model ({type(model).__name__}) has no trainable parameters: there is nothing to train")
    check_positive_int(steps, "steps")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if grad_clip is not None and (
        isinstance(grad_clip, bool) or not isinstance(grad_clip, (int, float)) or grad_clip <= 0
    ):
        raise ValueError(f"grad_clip must be a positive number or None, got {grad_clip!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function (output, y) -> loss, got {type(loss_fn).__name__}")
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be a function (steps_done) -> None, got {type(on_step).__name__}")
    if device is None:
        device = params[0].device
    model.to(device).train()
    generator = torch.Generator().manual_seed(seed)  # on the CPU: the same batches on every device
    next_batch = _batches(data, batch_size, generator)
    opt = OPTIMIZERS[optimizer](model.parameters(), lr=lr)
    if progress is None:
        progress = os.environ.get(PROGRESS_ENV, "1") != "0"

    losses = []
    before = None  # the parameters before the last update, in case that update made them non-finite
    bar = trange(steps, desc=desc, disable=not progress, leave=False)
    for step in bar:
        x, y = next_batch()
        loss = loss_fn(model(x.to(device)), y.to(device))
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError(f"loss_fn must return a single-value tensor, got {_describe(loss)}")
        readable = has_values(loss)
        losses.append(loss.item() if readable else math.nan)
        if readable and not math.isfinite(losses[-1]):
            _stop(model, before, step, losses[-1])
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        before = [p.detach().clone() for p in params]
        opt.step()
        if on_step is not None:
            on_step(step + 1)
        if step % 25 == 0:
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    bar.close()
    return losses


def _describe(value):
    return f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__


@torch.no_grad()
def _stop(model, before, step, value):
    """Say where training diverged; if the last update already made parameters non-finite, undo it."""
    params = [p for p in model.parameters() if p.requires_grad]
    undone = before is not None and not all(p.isfinite().all() for p in params)
    if undone:
        for p, old in zip(params, before, strict=True):
            p.copy_(old)
    kept = "from before the last update (which made them non-finite)" if undone else "that gave this loss"
    print(f"train: the loss became {value} at step {step}; stopped there, the model keeps the parameters {kept}")
