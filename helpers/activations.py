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
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if modules is None:
        return default_modules(model)
    if isinstance(modules, nn.Module) or not isinstance(modules, (dict, list, tuple, nn.ModuleList)):
        raise TypeError(f"modules must be a dict {{name: module}} or a list of modules, got {type(modules).__name__}")
    named = modules if isinstance(modules, dict) else {f"layer {i}": m for i, m in enumerate(modules)}
    if not named:
        raise ValueError("modules is empty: name at least one module to watch, or pass modules=None for the blocks")
    wrong = {name: type(m).__name__ for name, m in named.items() if not isinstance(m, nn.Module)}
    if wrong:
        raise TypeError(f"modules must be torch.nn.Module objects, got {wrong}")
    return named


def record_activations(model, x, modules=None, include_input=True):
    """Run model(x) once (no gradients) and return {name: output tensor} for each watched module.

    With include_input, the first entry ("input") is what entered the first watched module, so a
    plot shows the magnitude before any layer too. Hooks are removed afterwards, even on an error.
    A watched module that does not run during model(x) (not part of the model, or skipped) is an error
    that names it: an empty or partial record would look like a result.
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
    silent = [n for n in named if n not in recorded]
    if silent:
        raise ValueError(
            f"these watched modules never ran during model(x): {silent}; are they part of {type(model).__name__}'s "
            "forward pass?"
        )
    # Order: input first, then the modules in the order given.
    order = (["input"] if "input" in recorded else []) + [n for n in named if n in recorded]
    return {n: recorded[n] for n in order}


def mean_pairwise_cosine(x):
    """Average cosine similarity between different token vectors of the same sequence.

    x: (batch, seq, d) or (seq, d). 1.0 means every token points the same way (rank collapse).
    """
    check_tensor(x, "x", layout="(batch, seq, d) or (seq, d)", ndim=(2, 3))
    if x.shape[-1] == 0:
        raise ValueError(f"x: the token vectors are empty (shape {tuple(x.shape)}), they have no direction")
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
    check_tensor(x, "x", layout="(...) with at least one entry", floating=False)
    if x.numel() == 0:
        raise ValueError(f"x is empty (shape {tuple(x.shape)}): there is nothing to summarise")
    if x.is_complex():
        raise TypeError(f"x must be a real tensor, got dtype {x.dtype}")
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
    if not isinstance(stats, dict):
        raise TypeError(f"stats must be a dict {{layer name: stats dict}}, got {type(stats).__name__}")
    missing = sorted({c for s in stats.values() for c in columns if not isinstance(s, dict) or c not in s})
    if missing:
        raise ValueError(f"stats lack the columns {missing}; pass what activation_stats returns, or choose columns")
    width = max(len(n) for n in stats) if stats else 5
    header = f"{'layer':<{width}}" + "".join(f"{c:>10}" for c in columns)
    rows = [header]
    for name, s in stats.items():
        rows.append(f"{name:<{width}}" + "".join(f"{s[c]:>10.{digits}f}" for c in columns))
    return "\n".join(rows)
