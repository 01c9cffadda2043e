'''Exercise checkers: run a learner's function against the reference and print one verdict, with a hint.

A checker never shows a traceback from inside helpers, and never hands out the answer by itself:

- on the untouched stub (`raise NotImplementedError`): "not implemented yet" and a nudge, in words, no code;
- on a wrong answer: what differs (type, shape, dtype, device, which values) and, when the result matches a
  known slip, a hint that names that slip, else the nudge again; plus how to ask for the solution, when a
  lesson holds one under the name of the learner's function;
- on request only: `helpers.checks.solution("my_function")` prints the worked solution, read from the
  lesson notebook (notebooks/NN_*.ipynb, beside notebooks/student/), so there is one copy of it.

A checker returns a Verdict: truthy when passed (a lesson writes `assert helpers.checks.check_x(fn)`, so a
broken reference stops the lesson), and silent in Jupyter (no `True`/`False` echo under the cell).
The learner's function runs on copies of the inputs with the notebook's random state left alone; an
exception of any kind (SystemExit and KeyboardInterrupt too), a None return, another type, dtype or device,
or an input changed in place is reported as such.

Where things are: `core` holds the machinery (check_function, compare, Mistake, check_prediction, solution);
one module per lesson holds its checkers: setup (00), positions (01), attention (02), mlp (03), skip (04),
normalization (05), encoder_decoder (06), language_model (07). `testing` has what the checkers' unit tests share.

How to add an exercise (say to lesson 02):

1. In the lesson, the learner's function with its solution between the markers, then the check:

       def my_key_padding_mask(lengths, seq_len):
           # BEGIN SOLUTION
           return torch.arange(seq_len)[None, :] < lengths[:, None]
           # END SOLUTION


       assert helpers.checks.check_key_padding_mask(my_key_padding_mask)

   `python tools/notebooks.py student` turns the block into `raise NotImplementedError` and drops the
   `assert`. A solution block must sit inside a function (a top-level one would stop Run All).

2. In helpers/checks/attention.py, the checker: a reference, test cases (odd sizes, batch 1, the case
   where the slip shows), a nudge in words, and the known slips:

       def check_key_padding_mask(learner_fn):
           """learner_fn(lengths (batch,), seq_len) -> (batch, seq_len) bool, True where a token is real."""
           return check_function(
               learner_fn,
               lambda lengths, n: torch.arange(n)[None, :] < lengths[:, None],
               [("lengths 3 and 1, seq_len=4", (torch.tensor([3, 1]), 4)), ...],
               "key-padding mask",
               nudge="a position is real when it comes before the sequence's length, padding otherwise.",
               mistakes=[Mistake("yours marks the PADDING: True means 'may attend'.", lambda lengths, n: ...)],
               atol=0,
           )

   and export it from this file. 3. In tests/test_checks_02.py, one parametrized list (see testing.py):
   two correct solutions, the robustness cases, each slip with the words of its hint.

A prediction: the learner writes a guess before the cell that measures it. In the lesson

    # BEGIN PREDICTION
    my_guess = 0.5  # the fraction of weight on the last token
    # END PREDICTION

becomes `my_guess = None  # YOUR PREDICTION HERE` in the student version (Run All still reaches the end),
and the next cell measures, asserts what the lesson claims, and calls
`helpers.checks.check_prediction("weight on the last token", my_guess, measured, tolerance=0.1, why="...")`,
which says how close the guess was and never fails (None means "no prediction made").
'''

from .attention import check_attention, check_attention_mask, check_causal_mask, check_merge_heads, check_split_heads
from .capstone import check_forward_with_cache, check_gpt_causal, check_gpt_equal, check_gpt_shapes, yours_or_reference
from .core import Mistake, Verdict, check_function, check_prediction, compare, solution
from .encoder_decoder import check_cross_attention, check_greedy_decode
from .language_model import check_bigram_loss, check_next_token_probs
from .mlp import check_collapse_linear, check_mlp, check_swiglu
from .normalization import check_layer_norm, check_pre_norm_block, check_rms_norm
from .positions import check_order_invariance, check_rotary, check_sinusoidal_encoding
from .setup import check_softmax
from .skip import check_mean_pairwise_cosine, check_parallel_block, check_paths_by_length

__all__ = [
    "Mistake",
    "Verdict",
    "check_attention",
    "check_attention_mask",
    "check_bigram_loss",
    "check_causal_mask",
    "check_collapse_linear",
    "check_cross_attention",
    "check_function",
    "check_greedy_decode",
    "check_layer_norm",
    "check_mean_pairwise_cosine",
    "check_merge_heads",
    "check_mlp",
    "check_next_token_probs",
    "check_order_invariance",
    "check_parallel_block",
    "check_paths_by_length",
    "check_pre_norm_block",
    "check_prediction",
    "check_rotary",
    "check_rms_norm",
    "check_sinusoidal_encoding",
    "check_softmax",
    "check_split_heads",
    "check_swiglu",
    "compare",
    "solution",
]
__all__ += ["check_forward_with_cache", "check_gpt_causal", "check_gpt_equal", "check_gpt_shapes", "yours_or_reference"]
