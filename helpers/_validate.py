"""Input checks shared by the layers: a wrong shape should say what was expected and what arrived."""

import torch


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def check_tensor(x, name, *, layout, ndim=None, min_ndim=None, last_dim=None, floating=True):
    """Raise a TypeError/ValueError naming `layout` (e.g. "(batch, seq, d_model)") and the actual shape."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {layout}, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (e.g. torch.float32), got dtype {x.dtype}; "
            "token ids go through an embedding first"
        )
    if ndim is not None and x.dim() not in (ndim if isinstance(ndim, tuple) else (ndim,)):
        raise ValueError(f"{name}: expected shape {layout}, got shape {tuple(x.shape)} ({x.dim()}-D)")
    if min_ndim is not None and x.dim() < min_ndim:
        raise ValueError(f"{name}: expected shape {layout}, got shape {tuple(x.shape)} ({x.dim()}-D)")
    if last_dim is not None and x.shape[-1] != last_dim:
        raise ValueError(
            f"{name}: expected shape {layout} with last dimension {last_dim}, got shape {tuple(x.shape)}"
        )
