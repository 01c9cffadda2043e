"""Exercise checkers: run a learner's function against the reference and print a friendly verdict.

Every check_xxx(learner_fn) prints "passed" or what is wrong (wrong shape, values off by how much,
an exception raised) with a hint, and returns True/False. A learner's mistake never surfaces as a
traceback from inside helpers.
"""

import math

import torch

from . import layers
from .activations import mean_pairwise_cosine


def _describe(value):
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def compare(got, expected, atol=1e-5):
    """None if `got` matches `expected` (tensors, numbers, or tuples of them), else what differs."""
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} values, got {_describe(got)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = compare(g, e, atol)
            if problem:
                return f"item {i} of the returned tuple: {problem}"
        return None
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"expected a tensor of shape {tuple(expected.shape)}, got {_describe(got)}"
        if got.shape != expected.shape:
            return f"wrong shape: expected {tuple(expected.shape)}, got {tuple(got.shape)}"
        got = got.detach().to(torch.float64).cpu()
        expected = expected.detach().to(torch.float64).cpu()
        if not torch.isfinite(got).all():
            return "the result contains nan or inf values"
        diff = (got - expected).abs()
        if diff.max() > atol:
            where = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
            return (
                f"values are off by up to {diff.max().item():.4g} (tolerance {atol:g}); "
                f"first at index {where}: expected {expected[where].item():.4f}, got {got[where].item():.4f}"
            )
        return None
    try:
        ok = math.isclose(float(got), float(expected), abs_tol=atol)
    except (TypeError, ValueError):
        return f"expected a number, got {_describe(got)}"
    return None if ok else f"expected {float(expected):.4f}, got {float(got):.4f}"


def _clone(value):
    return value.clone() if isinstance(value, torch.Tensor) else value


def check_function(learner_fn, reference_fn, cases, name, hint="", atol=1e-5, adapt=None):
    """Run learner_fn and reference_fn on each case and print one verdict.

    cases: list of (description, args tuple). adapt(result) may reshape the learner's result first
    (e.g. keep only the output of a function that also returns weights).
    """
    if not callable(learner_fn):
        return _verdict(name, f"expected a function, got {_describe(learner_fn)}", hint)
    for description, args in cases:
        expected = reference_fn(*args)
        try:
            got = learner_fn(*(_clone(a) for a in args))
            if adapt is not None:
                got = adapt(got)
        except NotImplementedError:
            return _verdict(name, "not implemented yet: replace the `raise NotImplementedError` with your code", hint)
        except Exception as error:  # a learner's bug: report it, don't raise it
            return _verdict(name, f"for {description}, your function raised {type(error).__name__}: {error}", hint)
        problem = compare(got, expected, atol)
        if problem:
            return _verdict(name, f"for {description}: {problem}", hint)
    return _verdict(name, None, hint, n_cases=len(cases))


def _verdict(name, problem, hint, n_cases=0):
    if problem is None:
        print(f"✅ {name}: passed ({n_cases} test case{'s' if n_cases != 1 else ''})")
        return True
    print(f"❌ {name}: {problem}")
    if hint:
        print(f"   Hint: {hint}")
    return False


def mistake_hint(learner_fn, args, mistakes, generic):
    """The hint of the first known mistake whose result learner_fn reproduces on args, else `generic`.

    mistakes: list of (hint, wrong_fn). A checker calls this after a failed check, to name the slip.
    """
    try:
        got = learner_fn(*(_clone(a) for a in args))
    except Exception:  # the verdict has already said what it raised
        return generic
    for hint, wrong_fn in mistakes:
        try:
            if compare(got, wrong_fn(*args)) is None:
                return hint
        except Exception:  # a mistake that does not apply to these inputs
            continue
    return generic


def _randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- checkers used by the notebooks


def check_sinusoidal_encoding(learner_fn):
    """learner_fn(seq_len, d_model) -> (seq_len, d_model) sinusoidal positional encoding."""
    cases = [(f"seq_len={n}, d_model={d}", (n, d)) for n, d in [(4, 6), (10, 16), (1, 8), (7, 5)]]
    return check_function(
        learner_fn,
        layers.sinusoidal_positional_encoding,
        cases,
        "sinusoidal positional encoding",
        hint="angle = pos / 10000 ** (2i / d_model); sin goes in the even columns 2i, cos in the odd columns 2i + 1. "
        "For an odd d_model the last column is a sine.",
        atol=1e-4,
    )


def check_attention(learner_fn):
    """learner_fn(q, k, v) -> output (..., seq_q, d_v), or (output, weights)."""
    cases = [
        ("q, k, v of shape (3, 4)", (_randn(3, 4, seed=1), _randn(3, 4, seed=2), _randn(3, 4, seed=3))),
        ("a batch: q (2, 5, 8), k and v (2, 6, 8)", (_randn(2, 5, 8, seed=4), *_randn(2, 2, 6, 8, seed=5))),
        ("large d_k = 64 (is the scaling right?)", tuple(_randn(3, 1, 4, 64, seed=7))),
    ]
    return check_function(
        learner_fn,
        lambda q, k, v: layers.attention(q, k, v)[0],
        cases,
        "scaled dot-product attention",
        hint="scores = q @ k.transpose(-2, -1) / sqrt(d_k); weights = softmax over the LAST dim (the keys); "
        "output = weights @ v.",
        adapt=lambda out: out[0] if isinstance(out, tuple) else out,
    )


def check_softmax(learner_fn):
    """learner_fn(scores) -> softmax over the last dimension (00_setup's demonstration of a checker)."""
    cases = [
        ("scores of shape (2, 3)", (torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),)),
        ("a batch of shape (2, 4, 5)", (_randn(2, 4, 5, seed=1),)),
        ("large scores, shape (1, 3)", (torch.tensor([[1000.0, 1001.0, 1002.0]]),)),
    ]
    return check_function(
        learner_fn,
        lambda scores: torch.softmax(scores, dim=-1),
        cases,
        "softmax",
        hint="exponentiate, then divide by the sum over the LAST dim (keepdim=True); subtract each row's max "
        "first, so that large scores do not overflow to inf.",
    )


def check_layer_norm(learner_fn):
    """learner_fn(x, eps=1e-5) -> x normalized over its last dimension (no scale or shift)."""
    cases = [
        ("x of shape (2, 3, 8)", (_randn(2, 3, 8, seed=1) * 3 + 1,)),
        ("one token, x of shape (1, 5)", (_randn(1, 5, seed=2),)),
    ]
    return check_function(
        learner_fn,
        lambda x: torch.nn.functional.layer_norm(x, x.shape[-1:]),
        cases,
        "layer norm",
        hint="normalize each token over its features: mean and var over dim=-1 (keepdim=True), var with "
        "unbiased=False, then (x - mean) / sqrt(var + 1e-5).",
        atol=1e-4,
    )


# --- 01 positional encoding ---


def _order_invariance_cases():
    """(description, pool function, is it order-invariant?, why) for check_order_invariance; x is (8, 4)."""
    position_weights = torch.arange(1.0, 9.0)[:, None]  # 1, 2, ..., 8: one weight per position

    def self_attention(x):
        return layers.attention(x, x, x)[0]

    return [
        ("the mean over positions", lambda x: x.mean(dim=0), True, "a sum does not care about the order of its terms"),
        ("the first token, x[0]", lambda x: x[0], False, "after a shuffle another token is first"),
        ("the max over positions", lambda x: x.max(dim=0).values, True, "the largest value stays the largest"),
        (
            "a position-weighted sum, sum of p * x[p]",
            lambda x: (position_weights * x).sum(dim=0),
            False,
            "each token's weight depends on where it stands",
        ),
        (
            "self-attention's output rows, attention(x, x, x)",
            self_attention,
            False,
            "its rows move with the input rows (equivariant), so the output tensor changes",
        ),
        (
            "the mean of self-attention's output rows",
            lambda x: self_attention(x).mean(dim=0),
            True,
            "the rows only move, and their mean ignores where they are",
        ),
    ]


def check_order_invariance(learner_fn):
    """learner_fn(pool, x (seq, d)) -> True if pool(x) stays the same when the rows (positions) of x are shuffled."""
    name = "shuffle test"
    hint = (
        "shuffle the rows with x[torch.randperm(len(x))] and compare pool(x) with pool(shuffled) using "
        "torch.allclose(..., atol=1e-5): summing in another order changes the last bits, so == is too strict. "
        "One shuffle can keep a token in place: try a few."
    )
    if not callable(learner_fn):
        return _verdict(name, f"expected a function, got {_describe(learner_fn)}", hint)
    x = _randn(8, 4, seed=0)
    cases = _order_invariance_cases()
    for description, pool, invariant, why in cases:
        try:
            with torch.random.fork_rng(devices=[]):  # the learner's shuffles leave the notebook's seed alone
                torch.manual_seed(0)
                got = learner_fn(pool, x.clone())
        except NotImplementedError:
            return _verdict(name, "not implemented yet: replace the `raise NotImplementedError` with your code", hint)
        except Exception as error:  # a learner's bug: report it, don't raise it
            problem = f"for pool = {description}, your function raised {type(error).__name__}: {error}"
            return _verdict(name, problem, hint)
        if isinstance(got, torch.Tensor) and got.numel() == 1 and got.dtype == torch.bool:
            got = bool(got)
        if not isinstance(got, bool):
            return _verdict(name, f"for pool = {description}: expected True or False, got {_describe(got)}", hint)
        if got != invariant:
            verdict = "it is order-invariant, but it is not" if got else "it is not order-invariant, but it is"
            return _verdict(name, f"for pool = {description}: you said {verdict}: {why}", hint)
    passed = _verdict(name, None, hint, n_cases=len(cases))
    print("   order-invariant:     " + "; ".join(d for d, _, inv, _ in cases if inv))
    print("   not order-invariant: " + "; ".join(d for d, _, inv, _ in cases if not inv))
    return passed


# --- 02 attention ---


def check_causal_mask(learner_fn):
    """learner_fn(seq_len) -> (seq_len, seq_len) boolean mask, True where query i may look at key j (j <= i)."""
    name = "causal mask"
    cases = [(f"seq_len={n}", (n,)) for n in (4, 1, 7)]
    try:
        sample = learner_fn(4) if callable(learner_fn) else None
    except Exception:  # check_function below reports what it raised
        sample = None
    if isinstance(sample, torch.Tensor) and sample.dtype != torch.bool:
        return _verdict(
            name,
            f"for seq_len=4: expected a boolean tensor (dtype torch.bool), got dtype {sample.dtype}",
            "helpers.attention and F.scaled_dot_product_attention ADD a float mask to the scores, so a mask of 0s "
            "and 1s would hide nothing. Build it with dtype=torch.bool.",
        )
    mistakes = [
        (
            "yours is True where j > i, i.e. it marks the keys to BLOCK (torch.nn.MultiheadAttention's convention). "
            "Here True means 'may attend': keep j <= i, the lower triangle with the diagonal (.tril()).",
            lambda n: torch.ones(n, n, dtype=torch.bool).triu(1),
        ),
        (
            "yours lets each query see itself and the FUTURE (the upper triangle). A causal query i may look at keys "
            "j <= i: use .tril(), not .triu().",
            lambda n: torch.ones(n, n, dtype=torch.bool).triu(),
        ),
        (
            "yours hides the diagonal: each query must also see its own token (j <= i, not j < i), so use .tril() "
            "without an offset.",
            lambda n: torch.ones(n, n, dtype=torch.bool).tril(-1),
        ),
    ]
    generic = (
        "True where query i (row) may look at key j (column), i.e. j <= i: the lower triangle with the diagonal, "
        "e.g. torch.ones(seq_len, seq_len, dtype=torch.bool).tril()."
    )
    hint = mistake_hint(learner_fn, (4,), mistakes, generic)
    return check_function(learner_fn, layers.causal_mask, cases, name, hint=hint, atol=0)


def _split_heads_reference(x, n_heads):
    batch, seq, d_model = x.shape
    return x.view(batch, seq, n_heads, d_model // n_heads).transpose(1, 2)


def _merge_heads_reference(x):
    batch, n_heads, seq, d_head = x.shape
    return x.transpose(1, 2).reshape(batch, seq, n_heads * d_head)


def check_split_heads(learner_fn):
    """learner_fn(x (batch, seq, d_model), n_heads) -> (batch, n_heads, seq, d_model // n_heads)."""
    cases = [
        ("x of shape (2, 5, 8), n_heads=2", (_randn(2, 5, 8, seed=1), 2)),
        ("x of shape (1, 3, 12), n_heads=3", (_randn(1, 3, 12, seed=2), 3)),
        ("x of shape (2, 4, 6), n_heads=1", (_randn(2, 4, 6, seed=3), 1)),
    ]
    mistakes = [
        (
            "yours reshapes straight to (batch, n_heads, seq, d_head), which puts features of DIFFERENT tokens into "
            "one row. Cut each token's features first, x.view(batch, seq, n_heads, d_head), then .transpose(1, 2).",
            lambda x, h: x.reshape(x.shape[0], h, x.shape[1], x.shape[2] // h),
        ),
        (
            "yours has the heads after seq: (batch, seq, n_heads, d_head). Add .transpose(1, 2) so each head's "
            "(seq, d_head) matrix comes out whole.",
            lambda x, h: x.view(x.shape[0], x.shape[1], h, x.shape[2] // h),
        ),
        (
            "yours gives head h every n_heads-th feature. Each head takes a contiguous slice of d_head features: "
            "view as (batch, seq, n_heads, d_head), not (batch, seq, d_head, n_heads).",
            lambda x, h: x.view(x.shape[0], x.shape[1], x.shape[2] // h, h).permute(0, 3, 1, 2),
        ),
    ]
    generic = (
        "split the last dimension into (n_heads, d_head) with x.view(batch, seq, n_heads, d_model // n_heads), "
        "then swap seq and heads with .transpose(1, 2)."
    )
    hint = mistake_hint(learner_fn, cases[0][1], mistakes, generic)
    return check_function(learner_fn, _split_heads_reference, cases, "split heads", hint=hint, atol=0)


def check_merge_heads(learner_fn):
    """learner_fn(x (batch, n_heads, seq, d_head)) -> (batch, seq, n_heads * d_head), undoing split_heads."""
    cases = [
        ("x of shape (2, 2, 5, 4)", (_randn(2, 2, 5, 4, seed=4),)),
        ("x of shape (1, 3, 3, 4)", (_randn(1, 3, 3, 4, seed=5),)),
        ("x of shape (2, 1, 4, 6)", (_randn(2, 1, 4, 6, seed=6),)),
    ]
    mistakes = [
        (
            "yours reshapes without moving the heads back, so each output row mixes different tokens. "
            "First x.transpose(1, 2) -> (batch, seq, n_heads, d_head), then .reshape(batch, seq, n_heads * d_head).",
            lambda x: x.reshape(x.shape[0], x.shape[2], x.shape[1] * x.shape[3]),
        ),
        (
            "yours interleaves the heads' features. Head 0's d_head features come first, then head 1's, ...: "
            "x.transpose(1, 2) gives (batch, seq, n_heads, d_head), then reshape.",
            lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], x.shape[1] * x.shape[3]),
        ),
    ]
    generic = (
        "x.transpose(1, 2) brings seq back next to batch, (batch, seq, n_heads, d_head); then "
        ".reshape(batch, seq, n_heads * d_head). After a transpose the tensor is not contiguous, so .view fails "
        "there: use .reshape (or .contiguous().view)."
    )
    hint = mistake_hint(learner_fn, cases[0][1], mistakes, generic)
    return check_function(learner_fn, _merge_heads_reference, cases, "merge heads", hint=hint, atol=0)


# --- 03 mlp ---


def _mlp_reference(x, W1, b1, W2, b2):
    return torch.nn.functional.linear(torch.nn.functional.gelu(torch.nn.functional.linear(x, W1, b1)), W2, b2)


def _mlp_cases():
    def weights(d_model, d_hidden, seed):
        return (
            _randn(d_hidden, d_model, seed=seed) / d_model**0.5,
            _randn(d_hidden, seed=seed + 1) * 0.5,
            _randn(d_model, d_hidden, seed=seed + 2) / d_hidden**0.5,
            _randn(d_model, seed=seed + 3) * 0.5,
        )

    return [
        ("x of shape (5, 4), d_hidden=16", (_randn(5, 4, seed=1) * 2, *weights(4, 16, 10))),
        ("a single token, x of shape (4,)", (_randn(4, seed=4) * 2, *weights(4, 16, 40))),
        ("a batch, x of shape (2, 3, 8), d_hidden=32", (_randn(2, 3, 8, seed=2) * 2, *weights(8, 32, 20))),
        ("d_hidden=6, not 4 x d_model: x of shape (1, 4, 3)", (_randn(1, 4, 3, seed=3) * 2, *weights(3, 6, 30))),
    ]


def check_mlp(learner_fn):
    """learner_fn(x, W1, b1, W2, b2) -> the GELU MLP's output.

    W1 is (d_hidden, d_model) and W2 (d_model, d_hidden), laid out as nn.Linear stores them.
    """
    F = torch.nn.functional
    cases = _mlp_cases()
    ok = check_function(learner_fn, _mlp_reference, cases, "MLP forward")
    if not ok:
        mistakes = [
            ("your result matches ReLU; this MLP uses GELU: 0.5 * h * (1 + torch.erf(h / sqrt(2))).",
             lambda x, W1, b1, W2, b2: F.linear(F.relu(F.linear(x, W1, b1)), W2, b2)),
            ("your result matches GELU's tanh approximation; use the exact 0.5 * h * (1 + torch.erf(h / sqrt(2))).",
             lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1), approximate="tanh"), W2, b2)),
            ("your result has no nonlinearity: apply GELU to the hidden features h before projecting back.",
             lambda x, W1, b1, W2, b2: F.linear(F.linear(x, W1, b1), W2, b2)),
            ("your result leaves out the bias b1: h = x @ W1.T + b1.",
             lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1)), W2, b2)),
            ("your result leaves out the bias b2: out = gelu(h) @ W2.T + b2.",
             lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1)), W2)),
        ]
        generic = (
            "expand with h = x @ W1.T + b1 (nn.Linear stores W1 as (d_hidden, d_model), so transpose it), apply "
            "the exact GELU 0.5 * h * (1 + torch.erf(h / sqrt(2))), then project back with @ W2.T + b2."
        )
        print(f"   Hint: {mistake_hint(learner_fn, cases[0][1], mistakes, generic)}")
    return ok


def _collapse_reference(W1, b1, W2, b2):
    return W2 @ W1, W2 @ b1 + b2


def check_collapse_linear(learner_fn):
    """learner_fn(W1, b1, W2, b2) -> (W, b): the one nn.Linear equal to Linear(W1, b1) followed by Linear(W2, b2)."""
    cases = [
        (
            "square layers, all (4, 4)",
            (_randn(4, 4, seed=1), _randn(4, seed=2), _randn(4, 4, seed=3), _randn(4, seed=4)),
        ),
        (
            "d_in=3 -> d_hidden=5 -> d_out=2",
            (_randn(5, 3, seed=5), _randn(5, seed=6), _randn(2, 5, seed=7), _randn(2, seed=8)),
        ),
    ]
    ok = check_function(learner_fn, _collapse_reference, cases, "collapse two linear layers", atol=1e-4)
    if not ok:
        mistakes = [
            ("the matrices are in the wrong order: x passes W1 first, so the product is W2 @ W1.",
             lambda W1, b1, W2, b2: (W1 @ W2, W2 @ b1 + b2)),
            ("the bias b1 is added before the second layer, so it also passes through W2: b = W2 @ b1 + b2.",
             lambda W1, b1, W2, b2: (W2 @ W1, b2)),
            ("b1 + b2 forgets that b1 goes through the second layer's matrix: b = W2 @ b1 + b2.",
             lambda W1, b1, W2, b2: (W2 @ W1, b1 + b2)),
        ]
        generic = (
            "write the two layers out: W2 @ (W1 @ x + b1) + b2 = (W2 @ W1) @ x + (W2 @ b1 + b2); "
            "return the tuple (W, b) with W of shape (d_out, d_in) and b of shape (d_out,)."
        )
        print(f"   Hint: {mistake_hint(learner_fn, cases[0][1], mistakes, generic)}")
    return ok


# --- 04 skip connections ---


def _residual_forward_reference(x, sublayers):
    for f in sublayers:
        x = x + f(x)
    return x


def _residual_cases():
    w1, w2 = _randn(6, 6, seed=11) / 6**0.5, _randn(8, 8, seed=12) / 8**0.5

    def mix_tokens(h):  # a parameter-free attention: every token becomes a weighted average of all tokens
        return torch.softmax(h @ h.transpose(-2, -1) / h.shape[-1] ** 0.5, dim=-1) @ h

    return [
        ("one sublayer, f(h) = 2 * h", (_randn(3, 4, seed=1), [lambda h: 2 * h])),
        (
            "two sublayers, tanh(h @ W) then h ** 2",
            (_randn(2, 5, 6, seed=2), [lambda h: torch.tanh(h @ w1), lambda h: h**2]),
        ),
        (
            "three sublayers: token mixing, tanh(h @ W), token mixing",
            (_randn(2, 4, 8, seed=3), [mix_tokens, lambda h: torch.tanh(h @ w2), mix_tokens]),
        ),
        ("no sublayers at all", (_randn(2, 3, seed=4), [])),
    ]


def check_residual_forward(learner_fn):
    """learner_fn(x, sublayers) -> the stream after x = x + f(x) for each f in sublayers, in order."""
    cases = _residual_cases()
    ok = check_function(learner_fn, _residual_forward_reference, cases, "residual forward")
    if not ok:

        def no_skip(x, sublayers):
            for f in sublayers:
                x = f(x)
            return x

        def parallel(x, sublayers):
            return x + sum(f(x) for f in sublayers)

        def one_skip_around_all(x, sublayers):
            return x + no_skip(x, sublayers)

        mistakes = [
            ("your result has no skip connection: x = f(x) replaces the stream; the block must ADD, x = x + f(x).",
             no_skip),
            ("every sublayer read the ORIGINAL x; each one must read the stream as the previous one left it: "
             "update x = x + f(x) inside the loop, then pass the new x to the next f.", parallel),
            ("you added x back once around the whole stack: x + f2(f1(x)); a skip goes around EACH sublayer.",
             one_skip_around_all),
        ]
        generic = "loop over the sublayers in order and update the stream with x = x + f(x); return the final x."
        print(f"   Hint: {mistake_hint(learner_fn, cases[1][1], mistakes, generic)}")
    return ok


def _cosine_cases():
    direction = _randn(1, 1, 5, seed=21)
    return [
        ("x of shape (2, 5, 8)", (_randn(2, 5, 8, seed=22),)),
        (
            "three tokens pointing the same way, lengths 1, 2 and 5",
            (direction * torch.tensor([1.0, 2.0, 5.0])[None, :, None],),
        ),
        ("two opposite tokens, x of shape (1, 2, 3)", (torch.tensor([[[1.0, 2.0, -1.0], [-1.0, -2.0, 1.0]]]),)),
        ("large values, x of shape (3, 6, 16) times 100", (_randn(3, 6, 16, seed=23) * 100,)),
    ]


def check_mean_pairwise_cosine(learner_fn):
    """learner_fn(x (batch, seq, d)) -> one number: the mean cosine similarity over pairs of different tokens."""
    cases = _cosine_cases()
    ok = check_function(learner_fn, mean_pairwise_cosine, cases, "mean pairwise cosine", atol=1e-4)
    if not ok:
        F = torch.nn.functional

        def gram(x):
            unit = F.normalize(x, dim=-1)
            return unit @ unit.transpose(-2, -1)

        def off_diagonal_mean(sims):
            seq = sims.shape[-1]
            return (sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))

        mistakes = [
            ("your result includes each token's similarity with itself (always 1): leave out the diagonal and "
             "divide by seq * (seq - 1), the number of pairs of different tokens.", lambda x: gram(x).mean()),
            ("your result gives one number per sequence: average over the batch as well and return one number.",
             lambda x: off_diagonal_mean(gram(x))),
            ("your result uses raw dot products: divide every token by its length first, "
             "F.normalize(x, dim=-1), so that only directions count.",
             lambda x: off_diagonal_mean(x @ x.transpose(-2, -1)).mean()),
            ("you normalized along the wrong axis: each TOKEN (a row of d features) gets length 1, dim=-1.",
             lambda x: off_diagonal_mean(F.normalize(x, dim=-2) @ F.normalize(x, dim=-2).transpose(-2, -1)).mean()),
        ]
        generic = (
            "unit = x / x.norm(dim=-1, keepdim=True); sims = unit @ unit.transpose(-2, -1) is (batch, seq, seq); "
            "average its off-diagonal entries (seq * (seq - 1) of them per sequence), then over the batch."
        )
        print(f"   Hint: {mistake_hint(learner_fn, cases[0][1], mistakes, generic)}")
    return ok


# --- 05 normalization ---


def _rms_norm_reference(x, eps=1e-6):
    return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


def check_rms_norm(learner_fn):
    """learner_fn(x, eps=1e-6) -> x divided by the root mean square of its last dimension (no scale)."""
    cases = [
        ("x of shape (2, 3, 8), features off-centre", (_randn(2, 3, 8, seed=1) * 3 + 1,)),
        ("one token, x of shape (1, 5)", (_randn(1, 5, seed=2),)),
        ("tiny values, x of shape (2, 4) times 0.001 (is eps inside the square root?)", (_randn(2, 4, seed=3) * 1e-3,)),
    ]
    mistakes = [
        (
            "your result matches layer norm: RMSNorm does NOT subtract the mean, it only divides each token by "
            "sqrt(mean(x ** 2) + eps).",
            lambda x: torch.nn.functional.layer_norm(x, x.shape[-1:], eps=1e-6),
        ),
        (
            "you divided by the mean square, not its square root: "
            "x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps).",
            lambda x: x / (x.pow(2).mean(dim=-1, keepdim=True) + 1e-6),
        ),
        (
            "eps belongs inside the square root: sqrt(mean(x ** 2) + eps), not sqrt(mean(x ** 2)) + eps.",
            lambda x: x / (x.pow(2).mean(dim=-1, keepdim=True).sqrt() + 1e-6),
        ),
        (
            "you normalized over the wrong axis: each token is divided by the RMS of its OWN features, "
            "mean over dim=-1 with keepdim=True.",
            lambda x: x / torch.sqrt(x.pow(2).mean(dim=0, keepdim=True) + 1e-6),
        ),
    ]
    generic = (
        "rms = torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) is one number per token; return x / rms. "
        "No mean subtraction, no scale."
    )
    # The tiny-values case tells all of these mistakes apart (there eps matters).
    hint = mistake_hint(learner_fn, cases[2][1], mistakes, generic)
    return check_function(learner_fn, _rms_norm_reference, cases, "RMSNorm", hint=hint, atol=1e-4)
