"""Look inside a model: record what chosen sub-modules output, and summarise each layer in numbers.

The numbers (mean, std, RMS, max |x|, how alike the token vectors are) are printed beside the plots,
so a learner can read them and the tests can check them.
"""

import torch
from torch import nn

from ._validate import (
    check_all_ran,
    check_has_gradients,
    check_real_values,
    check_token_vectors,
    check_watched,
)


def default_modules(model):
    """The modules to watch when none are named: each block of a model with .blocks, else each child
    of a Sequential / ModuleList. Returns {name: module}."""
    if isinstance(getattr(model, "blocks", None), nn.ModuleList):
        return {f"block {i}": b for i, b in enumerate(model.blocks)}
    if isinstance(model, (nn.Sequential, nn.ModuleList)):
        return {f"layer {i}": m for i, m in enumerate(model)}
    raise ValueError(
        f"don't know which layers of a {type(model).__name__} to record: pass modules={{'name': module, ...}}"
    )


def _as_named(model, modules):
    if modules is None:
        return default_modules(model)
    named = modules if isinstance(modules, dict) else {f"layer {i}": m for i, m in enumerate(modules)}
    check_watched(named)
    return named


def record_activations(model, x, modules=None, include_input=True):
    """Run model(x) once (no gradients) and return {name: output tensor} for each watched module.

    With include_input, the first entry ("input") is what entered the first watched module, so a
    plot shows the magnitude before any layer too. Hooks are removed afterwards, even on an error.
    A module that runs more than once in model(x) (a layer applied twice) gives one entry per call,
    "name (call 1)", "name (call 2)"... A watched module that does not run during model(x) (not part of
    the model, or skipped) is an error that names it: an empty or partial record would look like a result.
    """
    named = _as_named(model, modules)
    calls = {name: [] for name in named}  # each module's outputs, in the order it ran
    first_input = []

    def keep(name):
        def hook(module, inputs, output):
            calls[name].append((output[0] if isinstance(output, tuple) else output).detach())

        return hook

    handles = [module.register_forward_hook(keep(name)) for name, module in named.items()]
    if include_input:
        first = next(iter(named.values()))
        handles.append(first.register_forward_pre_hook(lambda m, inputs: first_input.append(inputs[0].detach())))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    check_all_ran(calls, model)
    recorded = {"input": first_input[0]} if first_input else {}
    for name, outputs in calls.items():
        if len(outputs) == 1:
            recorded[name] = outputs[0]
        else:
            recorded.update({f"{name} (call {i})": out for i, out in enumerate(outputs, start=1)})
    return recorded


def mean_pairwise_cosine(x):
    """Average cosine similarity between different token vectors of the same sequence.

    x: (batch, seq, d) or (seq, d). 1.0 means every token points the same way (rank collapse).
    """
    check_token_vectors(x)
    x = x if x.dim() == 3 else x[None]
    seq = x.shape[1]
    unit = torch.nn.functional.normalize(x.float(), dim=-1)
    sims = unit @ unit.transpose(-2, -1)  # (batch, seq, seq)
    off_diagonal = sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)
    return (off_diagonal / (seq * (seq - 1))).mean().item()


def offset_split(x):
    """Split activations x (..., d) into the offset, one vector shared by every token (each feature's mean over
    all tokens), and the rest. Returns (RMS, offset RMS, rest RMS); their squares add up: rms² = offset² + rest².

    A norm's work, in two numbers: batch norm removes the offset, layer norm each token's mean over its features.
    """
    check_real_values(x)
    x = x.float().reshape(-1, x.shape[-1])
    offset = x.mean(dim=0)
    rms, offset_rms, rest_rms = (t.pow(2).mean().sqrt().item() for t in (x, offset, x - offset))
    return rms, offset_rms, rest_rms


def tensor_stats(x):
    """mean, std, RMS and max |x| over all entries, and mean pairwise cosine of the token vectors."""
    check_real_values(x)
    x = x.float()
    stats = {
        "mean": x.mean().item(),
        "std": x.std().item() if x.numel() > 1 else 0.0,
        "rms": x.pow(2).mean().sqrt().item(),
        "max_abs": x.abs().max().item(),
    }
    stats["cosine"] = mean_pairwise_cosine(x) if x.dim() in (2, 3) and x.shape[-2] > 1 else float("nan")
    return stats


def activation_stats(model, x, modules=None, include_input=True):
    """{layer name: tensor_stats} for each watched module's output on input x."""
    return {name: tensor_stats(t) for name, t in record_activations(model, x, modules, include_input).items()}


def gradient_norms(model, modules=None):
    """{layer name: L2 norm of the gradients of that layer's parameters}, read after loss.backward()."""
    norms = {}
    for name, module in _as_named(model, modules).items():
        grads = [p.grad.flatten() for p in module.parameters() if p.grad is not None]
        check_has_gradients(grads, name)
        norms[name] = torch.cat(grads).norm().item()
    return norms


def format_stats(stats, digits=3, columns=("mean", "std", "rms", "max_abs", "cosine")):
    """A fixed-width table of per-layer statistics, rounded so that re-runs print the same text."""
    width = max((len(n) for n in stats.keys()), default=5)  # a list is "'list' object has no attribute 'keys'"
    header = f"{'layer':<{width}}" + "".join(f"{c:>10}" for c in columns)
    rows = [header]
    for name, s in stats.items():
        rows.append(f"{name:<{width}}" + "".join(f"{s[c]:>10.{digits}f}" for c in columns))
    return "\n".join(rows)
