"""Seeds, device choice and the environment report that every notebook starts with."""

import os
import platform
import random

import numpy as np
import torch

from ._validate import check_positive_int

DEVICE_ENV = "WORKSHOP_DEVICE"  # e.g. WORKSHOP_DEVICE=cpu forces the CPU on a GPU machine
THREADS_ENV = "WORKSHOP_THREADS"  # e.g. WORKSHOP_THREADS=4: a maintainer's run that shows the numbers travel
_DEVICES = ("cpu", "cuda", "mps")


def seed_everything(seed=0):
    """Seed Python, NumPy and torch (all devices), so a re-run draws the same numbers."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    np.random.seed(seed)  # first: out of [0, 2**32) it is NumPy's "Seed must be between 0 and 2**32 - 1"
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS
    return seed


def _mps_available():
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def get_device():
    """cuda if there is a GPU, then Apple's mps, then cpu; the WORKSHOP_DEVICE variable overrides."""
    wanted = os.environ.get(DEVICE_ENV, "").strip().lower()
    if wanted:
        if wanted not in _DEVICES:
            raise ValueError(f"{DEVICE_ENV} must be one of {list(_DEVICES)}, got {wanted!r}")
        available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available()}
        if not available[wanted]:
            raise RuntimeError(f"{DEVICE_ENV}={wanted} but this machine has no {wanted} device")
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_environment(device=None):
    """One line per item: Python, torch, numpy, matplotlib versions and the device in use."""
    import matplotlib

    if device is None:
        device = get_device()
    else:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device must be a torch.device or a name such as 'cpu' or 'cuda', got {device!r}"
            ) from None
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    lines = [
        f"python     {platform.python_version()}",
        f"torch      {torch.__version__}",
        f"numpy      {np.__version__}",
        f"matplotlib {matplotlib.__version__}",
        f"device     {device} ({name})",
        f"threads    {torch.get_num_threads()}",
    ]
    return "\n".join(lines)


def _threads_from_environment():
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return 1
    if not text.isdigit() or int(text) == 0:
        raise ValueError(f"{THREADS_ENV} must be a positive whole number such as 1 or 4, got {text!r}")
    return int(text)


def setup_notebook(seed=0, threads=None):
    """What the first cell of every notebook does: seed, pick CPU threads, set the plot style, return the device.

    One CPU thread unless `threads` or the WORKSHOP_THREADS variable says otherwise: the workshop's models are
    tiny, so more threads have little to share and, on a busy 2-core machine, spin against each other and run
    many times slower; and with one thread floating-point sums add up in the same order whatever the machine's
    core count. WORKSHOP_THREADS=4 lets a maintainer run every notebook with 4 threads to show the asserts hold.
    """
    from .plotting import use_workshop_style

    if threads is None:
        threads = _threads_from_environment()
    check_positive_int(threads, "threads")
    seed_everything(seed)
    torch.set_num_threads(threads)
    use_workshop_style()
    return get_device()
