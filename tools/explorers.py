"""Seconds per redraw of each explorer (helpers.explore) on this machine, PNG included: a benchmark, printed.

    python -m tools.explorers

The target is 0.2 s per change on a 2-core CPU; tools.preflight measures the same in a real JupyterLab, with the
kernel's round trip.
"""

import time

import torch

import helpers
from helpers import explore


class Timed:
    """Stands in for IPython's display: keeps the controls; each redraw has already made its PNG."""

    def __call__(self, obj, display_id=False):
        self.controls = obj
        return self if display_id else None

    def update(self, image):
        pass


def fake_runs(n_layers, arms=("no norm", "small branches", "pre-norm", "small branches + pre-norm")):
    """Random numbers in the shape of 05's runs."""
    seen = {"blocks": torch.rand(n_layers, 3).tolist(), "reads": torch.rand(2 * n_layers, 3).tolist()}
    run = {"curves": torch.rand(5, 200).tolist(), "init": [seen] * 5, "trained": [seen] * 5}
    return {(arm, n_layers): run for arm in arms}


def main():
    torch.set_num_threads(1)  # as the notebooks run
    tokenizer = helpers.data.CharTokenizer(helpers.data.load_corpus())
    model = helpers.TinyTransformer(tokenizer.vocab_size, d_model=64, n_layers=2, n_heads=4, max_len=64)
    cases = {
        "positions (01)": (lambda: explore.positions(), "offset p' − p", range(1, 11)),
        "softmax_scale (02)": (lambda: explore.softmax_scale(), "d_k", [2.0**i for i in range(1, 11)]),
        "depth_stream (05)": (lambda: explore.depth_stream(fake_runs(12)), "arm", ["pre-norm", "no norm"] * 5),
        "sampling (07)": (
            lambda: explore.sampling(model, tokenizer, "Ada went to the"),
            "temperature",
            [0.5 + 0.1 * i for i in range(10)],
        ),
        "attention_heads (07)": (
            lambda: explore.attention_heads(model, tokenizer, "Ada went to the park."),
            "character",
            range(10),
        ),
    }
    for name, (start, control, values) in cases.items():
        explore.display = shown = Timed()
        start()
        slider = next(c for c in shown.controls.children if c.description == control)
        seconds = []
        for value in values:
            t0 = time.perf_counter()
            slider.value = value
            seconds.append(time.perf_counter() - t0)
        print(f"{name:22} median {sorted(seconds)[len(seconds) // 2]:.3f} s, slowest {max(seconds):.3f} s per change")


if __name__ == "__main__":
    main()
