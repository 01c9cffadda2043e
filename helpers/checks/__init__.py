'''Exercise checkers: run a learner's function against the reference and print one verdict, with a hint.

A checker never shows a traceback from inside helpers and never hands out the answer by itself: on the untouched
stub (`raise NotImplementedError`) it says "not implemented yet" and gives a nudge in words, no code; on a wrong
answer it says what differs (type, shape, dtype, device, which values) and, when the result matches a known slip,
names that slip, else nudges again, and points at `helpers.checks.solution("my_function")`, which prints the
worked solution read from the lesson notebook (one copy of it). Tensors may come back in any floating dtype
(float32 or float64: the values count); complex results are refused. A checker returns a Verdict, truthy when
passed (`assert helpers.checks.check_x(fn)` guards a lesson's reference) and silent in Jupyter.

`core` holds the machinery (check_function, compare, Mistake, check_prediction and its WHY registry, solution);
one module per lesson holds its checkers: setup (00), positions (01), attention (02), mlp (03), skip (04),
normalization (05), encoder_decoder (06), language_model (07). A new exercise: its function in the lesson with
the solution between `# BEGIN SOLUTION` / `# END SOLUTION` inside the function, then
`assert helpers.checks.check_x(my_fn)`; in the lesson's module a checker built on check_function (a reference,
cases with odd sizes and batch 1, a nudge in words, a Mistake per known slip); in tests/test_checks_NN.py one
parametrized list (tests/checker_testing.py: Passes, Fails, robustness). A prediction sits between
`# BEGIN PREDICTION` / `# END PREDICTION`; the cell after it measures, asserts, and calls
`check_prediction(name, guess, measured)`, whose explanation the module registers in `WHY`.
'''

from .attention import check_attention, check_causal_mask, check_merge_heads, check_split_heads
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
    "Mistake", "Verdict", "check_attention", "check_bigram_loss", "check_causal_mask",
    "check_collapse_linear", "check_cross_attention", "check_function", "check_greedy_decode", "check_layer_norm",
    "check_mean_pairwise_cosine", "check_merge_heads", "check_mlp", "check_next_token_probs",
    "check_order_invariance", "check_parallel_block", "check_paths_by_length", "check_pre_norm_block",
    "check_prediction", "check_rotary", "check_rms_norm", "check_sinusoidal_encoding", "check_softmax",
    "check_split_heads", "check_swiglu", "compare", "solution",
]
__all__ += ["check_forward_with_cache", "check_gpt_causal", "check_gpt_equal", "check_gpt_shapes", "yours_or_reference"]
