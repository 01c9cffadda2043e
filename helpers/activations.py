"""Look inside a model: record what chosen sub-modules output, and summarise each layer in numbers.

The numbers (mean, std, RMS, max |x|, how alike the token vectors are) are printed beside the plots,
so a learner can read them and the tests can check them.
"""

import torch
from torch import nn

from ._validate import check_tensor


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
    if isinstance(modules, dict):
        return modules
    return {f"layer {i}": m for i, m in enumerate(modules)}


def record_activations(model, x, modules=None, include_input=True):
    """Run model(x) once (no gradients) and return {name: output tensor} for each watched module.

    With include_input, the first entry ("input") is what entered the first watched module, so a
    plot shows the magnitude before any layer too. Hooks are removed afterwards, even on an error.
    """
    named = _as_named(model, modules)
    recorded = {}
    handles = []

    def keep(name):
        def hook(module, inputs, output):
            recorded[name] = (output[0] if isinstance(output, tuple) else output).detach()

        return hook

    if include_input and named:
        first = next(iter(named.values()))
        handles.append(
            first.register_forward_pre_hook(lambda m, inputs: recorded.setdefault("input", inputs[0].detach()))
        )
    try:
        for name, module in named.items():
            handles.append(module.register_forward_hook(keep(name)))
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    # Order: input first, then the modules in the order given.
    order = (["input"] if "input" in recorded else []) + [n for n in named if n in recorded]
    return {n: recorded[n] for n in order}


def mean_pairwise_cosine(x):
    """Average cosine similarity between different token vectors of the same sequence.

    x: (batch, seq, d) or (seq, d). 1.0 means every token points the same way (rank collapse).
    """
    check_tensor(x, "x", layout="(batch, seq, d) or (seq, d)", ndim=(2, 3))
    x = x if x.dim() == 3 else x[None]
    seq = x.shape[1]
    if seq < 2:
        raise ValueError(f"need at least 2 tokens to compare, got shape {tuple(x.shape)}")
    unit = torch.nn.functional.normalize(x.float(), dim=-1)
    sims = unit @ unit.transpose(-2, -1)  # (batch, seq, seq)
    off_diagonal = sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)
    return (off_diagonal / (seq * (seq - 1))).mean().item()


def tensor_stats(x):
    """mean, std, RMS and max |x| over all entries, and mean pairwise cosine of the token vectors."""
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
        if not grads:
            raise ValueError(f"{name} has no gradients: call loss.backward() first")
        norms[name] = torch.cat(grads).norm().item()
    return norms


def format_stats(stats, digits=3, columns=("mean", "std", "rms", "max_abs", "cosine")):
    """A fixed-width table of per-layer statistics, rounded so that re-runs print the same text."""
    width = max(len(n) for n in stats) if stats else 5
    header = f"{'layer':<{width}}" + "".join(f"{c:>10}" for c in columns)
    rows = [header]
    for name, s in stats.items():
        rows.append(f"{name:<{width}}" + "".join(f"{s[c]:>10.{digits}f}" for c in columns))
    return "\n".join(rows)
