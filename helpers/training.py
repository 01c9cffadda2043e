"""A tiny, readable training loop: the same seed gives the same losses, on any device."""

import copy
import math
import os
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from tqdm.auto import trange

from ._validate import check_batch, check_loss_args, check_train_args, has_values

IGNORE = -100  # targets with this value are left out of the loss and the accuracy (cross_entropy's ignore_index)
PROGRESS_ENV = "WORKSHOP_PROGRESS"  # WORKSHOP_PROGRESS=0 hides the bars (the test suite sets it)
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def _batches(data, batch_size, generator):
    """A fixed (x, y) pair is full-batch training; a task object or a function draws a new batch."""
    if isinstance(data, (tuple, list)):
        return lambda: data
    if hasattr(data, "get_batch"):
        return lambda: data.get_batch(batch_size, generator)
    return lambda: data(batch_size, generator)


def default_loss(output, y):
    """Cross-entropy for integer targets (scored positions only), mean squared error for float targets."""
    check_loss_args(output, y, ignore_index=IGNORE)
    if y.is_floating_point():
        return F.mse_loss(output, y)
    return F.cross_entropy(output.reshape(-1, output.shape[-1]), y.reshape(-1), ignore_index=IGNORE)


@contextmanager
def evaluating(model):
    """`with evaluating(model):` runs the block in eval mode (batch norm uses its running statistics, dropout is
    off) without gradients, and puts the model back in its previous mode afterwards, even after an exception."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


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

    data: an (x, y) pair of tensors (the same batch every step), a task with get_batch(batch_size, generator),
    or a function (batch_size, generator) -> (x, y). `on_step(steps_done)`, if given, is called after every
    update (e.g. to measure a validation loss).

    If the loss becomes inf or nan (training diverged), training stops there and says at which step:
    the returned list is shorter than `steps` and ends with that value, and no update is made from it. It also
    says whether the parameters are still finite: an update from a finite loss can overflow them (then the loss
    after it is the first non-finite one); nothing is copied each step to undo that. `progress=None` shows a tqdm bar
    unless WORKSHOP_PROGRESS=0 is set. On the meta device (shapes only, no values: the device-mixing
    test uses it) no loss can be read: the losses are nan and the divergence check is skipped.
    """
    check_train_args(model, steps, lr, optimizer, OPTIMIZERS, grad_clip)
    params = [p for p in model.parameters() if p.requires_grad]
    if device is None:
        device = params[0].device
    model.to(device).train()
    generator = torch.Generator().manual_seed(seed)  # on the CPU: the same batches on every device
    next_batch = _batches(data, batch_size, generator)
    opt = OPTIMIZERS[optimizer](model.parameters(), lr=lr)
    if progress is None:
        progress = os.environ.get(PROGRESS_ENV, "1") != "0"

    losses = []
    bar = trange(steps, desc=desc, disable=not progress, leave=False)
    for step in bar:
        x, y = check_batch(next_batch())
        loss = loss_fn(model(x.to(device)), y.to(device))
        readable = has_values(loss)
        losses.append(loss.item() if readable else math.nan)
        if readable and not math.isfinite(losses[-1]):
            _stop(model, step, losses[-1])
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        if on_step is not None:
            on_step(step + 1)
        if step % 25 == 0:
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    bar.close()
    return losses


@torch.no_grad()
def _stop(model, step, value):
    """Say where training diverged, and whether the last update already made parameters non-finite."""
    finite = all(p.isfinite().all() for p in model.parameters())
    kept = "keeps the parameters that gave this loss" if finite else "has non-finite parameters: the last update"
    hint = "" if finite else " made them so (try a lower lr or grad_clip)"
    print(f"train: the loss became {value} at step {step}; stopped there, the model {kept}{hint}")


def train_seeds(
    make_model,
    data,
    seeds,
    steps,
    lr=1e-3,
    batch_size=32,
    optimizer="adam",
    loss_fn=default_loss,
    grad_clip=None,
    device=None,
    progress=None,
    desc="training seeds",
):
    """Train one model per seed side by side; the same as `train(make_model(seed), data, seed=seed, ...)` for each.

    make_model(seed) builds the model for one seed (seed inside it for a repeatable initialization). Each model
    draws its batches from its own generator, as `train` does, and has its own optimizer state and (with
    grad_clip) its own gradient norm; one vmapped forward and backward pass serves them all. The models must
    share one architecture and have no random layers (dropout).
    Returns (curves, models): curves[i] is the list `train` would return for seeds[i] (cut at the first inf or
    nan: a diverged run), models[i] that model trained (a diverged one keeps its last finite parameters).

    make_model may also be a dict {name: make_model} of variants with one architecture (e.g. two
    initializations): they train in the same pass, which on a small model costs about as much as one variant,
    and the result is {name: (curves, models)}.
    """
    makers = make_model if isinstance(make_model, dict) else {None: make_model}
    seeds = list(seeds)
    models = [make(seed) for make in makers.values() for seed in seeds]
    check_train_args(models[0], steps, lr, optimizer, OPTIMIZERS, grad_clip)
    if device is None:
        device = next(models[0].parameters()).device
    for model in models:
        model.to(device).train()
    template = copy.deepcopy(models[0])  # functional_call runs its forward with the stacked weights
    params, buffers = torch.func.stack_module_state(models)  # every tensor gets a leading axis, one entry per model

    def one_loss(p, b, x, y):
        return loss_fn(torch.func.functional_call(template, (p, b), (x,)), y)

    loss_of_each = torch.func.vmap(one_loss)
    # train's batches, seed by seed (each variant gets the same ones)
    next_batches = [_batches(data, batch_size, torch.Generator().manual_seed(seed)) for _ in makers for seed in seeds]
    # foreach: one update over all stacked tensors (elementwise, so each model's slice gets train's update)
    opt = OPTIMIZERS[optimizer](params.values(), lr=lr, foreach=True)
    if progress is None:
        progress = os.environ.get(PROGRESS_ENV, "1") != "0"

    history, stopped, kept = [], [None] * len(models), {}  # kept: the last finite parameters of a diverged model
    before = params  # the parameters before the last update (at step 0: the initial ones)
    for step in trange(steps, desc=desc, disable=not progress, leave=False):
        x, y = (torch.stack(t).to(device) for t in zip(*(check_batch(b()) for b in next_batches), strict=True))
        losses = loss_of_each(params, buffers, x, y)
        history.append(losses.detach().cpu())
        for i, loss in enumerate(history[-1].tolist()):
            if stopped[i] is None and not math.isfinite(loss):
                stopped[i] = step
                finite = all(p[i].isfinite().all() for p in params.values())
                kept[i] = {name: (p if finite else before[name])[i].clone() for name, p in params.items()}
        if None not in stopped:
            break
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()  # the models share no weight: each slice gets its own model's gradient
        if grad_clip is not None:
            _clip_each(params.values(), grad_clip)
        before = {name: p.detach().clone() for name, p in params.items()}
        opt.step()

    curves = torch.stack(history, dim=1).tolist()
    curves = [c if s is None else c[: s + 1] for c, s in zip(curves, stopped, strict=True)]
    with torch.no_grad():
        for i, model in enumerate(models):
            for name, p in model.named_parameters():
                p.copy_(kept[i][name] if i in kept else params[name][i])
    n = len(seeds)
    results = {name: (curves[k * n : (k + 1) * n], models[k * n : (k + 1) * n]) for k, name in enumerate(makers)}
    return results if isinstance(make_model, dict) else results[None]


@torch.no_grad()
def _clip_each(params, max_norm):
    """clip_grad_norm_ for each seed's slice: its own total norm over all its parameters."""
    grads = [p.grad for p in params if p.grad is not None]
    norms = torch.stack([g.flatten(1).pow(2).sum(dim=1) for g in grads]).sum(dim=0).sqrt()  # one per seed
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *[1] * (g.dim() - 1)))
