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
        raise ValueError(f"{name}: expected shape {layout} with last dimension {last_dim}, got shape {tuple(x.shape)}")


def has_values(t):
    """False on the meta device, where tensors have shapes but no values (tests/test_devices.py runs every
    layer there to catch a CPU tensor mixed in): the checks that read values are skipped there, nothing else."""
    return t.device.type != "meta"


def check_matches_parameters(x, module, name="x"):
    """x must have the dtype and device of `module`'s parameters: say so, instead of torch's
    "mat1 and mat2 must have the same dtype" from deep inside a matmul."""
    p = next(module.parameters(), None)
    if p is None:
        return
    layer = type(module).__name__
    if x.dtype != p.dtype:
        raise TypeError(
            f"{name} has dtype {x.dtype} but the {layer}'s parameters have dtype {p.dtype}: "
            f"convert one to the other, e.g. {name}.to({p.dtype}) or layer.to({x.dtype})"
        )
    if x.device != p.device:
        raise ValueError(
            f"{name} is on device {x.device} but the {layer}'s parameters are on {p.device}: "
            f"move one to the other, e.g. {name}.to(device) and layer.to(device) with the same device"
        )


def check_token_ids(ids, name, *, layout, ndim, vocab_size=None):
    """Integer token ids of shape `layout` (ndim dims), each in [0, vocab_size) when vocab_size is given."""
    if not isinstance(ids, torch.Tensor) or ids.dtype not in (torch.int64, torch.int32):
        got = ids.dtype if isinstance(ids, torch.Tensor) else type(ids).__name__
        raise TypeError(f"{name} must be a tensor of integer token ids (torch.long), got {got}")
    if ids.dim() != ndim:
        raise ValueError(f"{name}: expected shape {layout}, got shape {tuple(ids.shape)}")
    if vocab_size is not None and ids.numel() and has_values(ids) and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"{name}: token ids must be in [0, {vocab_size}), got values from {ids.min().item()} to {ids.max().item()}"
        )
