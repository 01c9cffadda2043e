"""A tiny, readable training loop: the same seed gives the same losses, on any device."""

import math
import os

import torch
import torch.nn.functional as F
from tqdm.auto import trange

from ._validate import check_positive_int
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
    if y.is_floating_point():
        return F.mse_loss(output, y)
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
):
    """Train `model` for `steps` optimizer steps and return the list of per-step losses.

    If the loss becomes inf or nan (training diverged), training stops there: the returned list is
    shorter than `steps` and ends with that value. `progress=None` shows a tqdm bar unless
    WORKSHOP_PROGRESS=0 is set.
    """
    check_positive_int(steps, "steps")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    if device is None:
        device = next(model.parameters()).device
    model.to(device).train()
    generator = torch.Generator().manual_seed(seed)  # on the CPU: the same batches on every device
    next_batch = _batches(data, batch_size, generator)
    opt = OPTIMIZERS[optimizer](model.parameters(), lr=lr)
    if progress is None:
        progress = os.environ.get(PROGRESS_ENV, "1") != "0"

    losses = []
    bar = trange(steps, desc=desc, disable=not progress, leave=False)
    for step in bar:
        x, y = next_batch()
        loss = loss_fn(model(x.to(device)), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break
        if step % 25 == 0:
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    bar.close()
    return losses
