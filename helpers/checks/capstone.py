"""Checkers of notebook 08 (build your own GPT): the learner's model against helpers.TinyTransformer, part by part,
and the forward pass with a KV cache. The learner's GPT(vocab_size, d_model, n_layers, n_heads, max_len) keeps
TinyTransformer's names (token_embedding, positional, blocks[i].norm1/attn/norm2/mlp, final_norm, head), so it
takes the reference's weights with load_state_dict and each of its parts can be compared with the reference's."""

import contextlib
import io
import math

import torch

from ..layers import LayerNorm, TinyTransformer, attention, merge_heads, split_heads
from .core import WHY, LearnerError, compare, describe, failed, run_learner, verdict

__all__ = ["check_forward_with_cache", "check_gpt_causal", "check_gpt_equal", "check_gpt_shapes", "yours_or_reference"]

SMALL = dict(vocab_size=11, d_model=16, n_layers=2, n_heads=2, max_len=12)
FINAL_NORM = "the final norm is missing: the head reads final_norm of the last block's output."
NUDGE = ("follow the picture of 07: token embedding plus positions, then each block (the stream plus attention of "
         "its normalized copy, then plus the MLP of its normalized copy), then the final norm and the head.")


def _ids(batch, seq, vocab_size, seed):
    return torch.randint(0, vocab_size, (batch, seq), generator=torch.Generator().manual_seed(seed))


def _build(GPT, config, seed):
    """(learner's model with the reference's weights, reference), both in eval mode; LearnerError if it cannot."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reference = TinyTransformer(**config).eval()
        with torch.no_grad():  # norms that differ from each other and from 1, so that mixing them up shows
            for norm in (m for m in reference.modules() if isinstance(m, LayerNorm)):
                norm.weight.copy_(1 + 0.5 * torch.randn_like(norm.weight))
                norm.bias.copy_(0.5 * torch.randn_like(norm.bias))
    model = run_learner(lambda: GPT(**config), ())
    if not isinstance(model, torch.nn.Module):
        raise LearnerError(f"GPT(...) should build an nn.Module, got {describe(model)}")
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    if ours != theirs:
        extra, missing = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
        shapes = [k for k in set(ours) & set(theirs) if ours[k] != theirs[k]]
        raise LearnerError(f"your model's parameters do not match the reference's: unexpected {extra[:3]}, missing "
                           f"{missing[:3]}, other shapes {sorted(shapes)[:3]}. Keep the names and sizes of the given "
                           "__init__ methods.")
    tied = {}
    for k, v in model.named_parameters(remove_duplicate=False):
        tied.setdefault(id(v), []).append(k)
    tied = next((names for names in tied.values() if len(names) > 1), None)
    if tied:
        raise _Problem(f"your model uses one tensor as {' and '.join(tied)} (weights tied, as 07 showed with "
                       "lm.tie_weights): the reference has two, so loading its weights wrote the second over the "
                       "first", "leave them untied here: remove the line that ties them (the reference's head has "
                       "its own matrix).")
    model.load_state_dict(reference.state_dict())
    return model.eval(), reference


class _Problem(LearnerError):
    """A learner's model that cannot be judged further, with the hint that names why."""

    def __init__(self, message, hint):
        super().__init__(message)
        self.hint = hint


def _run(model, ids):
    """The learner's logits for ids, checked: a tensor (batch, seq, vocab) without nan; else _Problem saying why."""
    with torch.no_grad():
        logits = run_learner(model, (ids,))
    batch, seq = ids.shape
    problem = compare(logits, torch.zeros(batch, seq, SMALL["vocab_size"]), atol=math.inf)
    if problem and isinstance(logits, (tuple, list)):
        raise _Problem(f"your GPT returned {describe(logits)}: {problem}", "return the logits alone, one tensor "
                       "(batch, seq, vocab_size), not a (logits, loss) pair: the training loop computes the loss.")
    if problem and isinstance(logits, torch.Tensor) and tuple(logits.shape) == (batch, SMALL["vocab_size"]):
        raise _Problem(f"for token ids of shape {(batch, seq)}: {problem}", "return the logits of EVERY position, "
                       "(batch, seq, vocab_size): training scores each position's next token (generation takes "
                       "the last one itself).")
    if problem and "nan" in problem:
        at = int((~torch.isfinite(logits)).any(dim=(0, 2)).sum())
        raise _Problem(f"your logits hold nan or inf values (at {at} of {seq} positions)", "nan comes from a "
                       "softmax over a row of scores that are all minus infinity: every query may attend to its own "
                       "position too (the mask keeps the diagonal).")
    if problem:
        raise _Problem(f"for token ids of shape {(batch, seq)}: {problem}", NUDGE)
    return logits


def _verdict(name, test, GPT, n_cases):
    """One verdict for test(GPT), which returns None when passed, else (problem, hint, the solution to point at)."""
    try:
        found = test(GPT)
    except _Problem as problem:
        return verdict(name, problem.message, problem.hint, stuck="GPT")
    except LearnerError as failure:
        return failed(name, failure, NUDGE, "GPT")
    return verdict(name, None, n_cases=n_cases) if found is None else verdict(name, *found[:2], stuck=found[2])


def check_gpt_shapes(GPT):
    """GPT(**config) builds a module with TinyTransformer's parameter names and gives logits (batch, seq, vocab)."""

    def test(GPT):
        for ids in (_ids(2, 7, 11, seed=1), _ids(1, 1, 11, seed=2), _ids(3, 12, 11, seed=3)):
            _run(_build(GPT, SMALL, seed=0)[0], ids)  # a _Problem if the logits are no (batch, seq, vocab) tensor

    return _verdict("GPT shapes", test, GPT, n_cases=3)


def check_gpt_causal(GPT):
    """Changing the token at position t never changes the logits at positions before t."""

    def test(GPT):
        (model, reference), ids = _build(GPT, SMALL, seed=4), _ids(2, 10, 11, seed=5)
        for t in (9, 6, 1):
            changed = ids.clone()
            changed[:, t] = (changed[:, t] + 1) % 11
            moved = (_run(model, ids)[:, :t] - _run(model, changed)[:, :t]).abs().amax(dim=(0, 2))
            if (moved > 1e-5).any():
                problem = f"changing token {t} changed the output at position {int((moved > 1e-5).nonzero()[0])}"
                where, hint = _locate(model, reference, ids)  # what differs from the reference says why
                stuck = "CausalSelfAttention" if "attention" in where else "GPT"
                return f"{problem} (by up to {moved.max():.3g}); the first difference is in {where}", hint, stuck

    return _verdict("GPT causality", test, GPT, n_cases=3)


# ----------------------------------------------------------------------------- equality, located part by part


def _attention_variant(attn, x, scale=None, mask="causal", dim=-1):
    """The reference attention with one thing changed: the scale's d, the softmax's dim, or the mask (None,
    "future", "after": weights zeroed after the softmax, "zero": blocked scores set to 0)."""
    q, k, v = (split_heads(t, attn.n_heads) for t in attn.in_proj(x).chunk(3, dim=-1))
    seq = x.shape[1]
    allowed = torch.ones(seq, seq, dtype=torch.bool).tril()
    scores = q @ k.transpose(-2, -1) / (math.sqrt(q.shape[-1]) if scale is None else scale)
    blocked = {"causal": ~allowed, "zero": ~allowed, "future": ~allowed.T}.get(mask, torch.zeros_like(allowed))
    scores = scores.masked_fill(blocked, 0.0 if mask == "zero" else -math.inf)
    weights = torch.softmax(scores, dim=dim)
    if mask == "after":  # rows no longer sum to 1
        weights = weights * allowed
    return attn.out_proj(merge_heads(weights @ v))


def _slip(got, slips, otherwise):
    """The hint of the first known slip ((hint, the value it gives) pairs) that `got` matches, else `otherwise`."""
    return next((hint for hint, wrong in slips if compare(got, wrong) is None), otherwise)


def _parts(seen, reference, ids):
    """Each part of the learner's model in the order it runs, as a checker case: (where, what it got (`seen` by the
    forward hooks), what the reference's part gives on the same input, (hint, value) for each known slip, the hint
    otherwise). A generator: each part is built only once the ones before it matched."""
    embedded = reference.token_embedding(ids)
    yield ("the input of block 0", seen["blocks.0"][0], embedded + reference.positional(ids.shape[1]),
           [("the positions are missing: add them to the token embeddings.", embedded)],
           "block 0 should read the token embeddings plus the positions.")
    for i, ref in enumerate(reference.blocks):
        (x, out), (a_in, a_out), (m_in, m_out) = (seen[f"blocks.{i}{s}"] for s in ("", ".attn", ".mlp"))
        yield (f"block {i}", a_in, ref.norm1(x),
               [("the norm placement: the attention reads the stream itself; pre-norm reads norm1 of it.", x)],
               "the attention should read norm1 of the block's input (pre-norm).")
        d_head = ref.attn.d_model // ref.attn.n_heads
        slips = [
            ("the attention scale: divide the scores by the square root of d_head, the width of ONE head, not of "
             "d_model.", dict(scale=math.sqrt(ref.attn.d_model))),
            ("the attention scale: the scores must be divided by the square root of d_head.", dict(scale=1.0)),
            ("the attention scale: you divided by d_head itself; divide by its SQUARE ROOT.", dict(scale=d_head)),
            ("the softmax runs over the queries (dim=-2): each query's weights over the KEYS must sum to 1, a "
             "softmax over the last dimension.", dict(dim=-2)),
            ("the mask: the blocked scores were set to 0 before the softmax, and a score of 0 still gets weight "
             "(exp(0) = 1): set them to minus infinity, whose weight is exactly 0.", dict(mask="zero")),
            ("the mask: without it each position sees the future.", dict(mask=None)),
            ("the mask is upside down: a query may see keys at or BEFORE its position (below the diagonal).",
             dict(mask="future")),
            ("the mask: set the blocked scores to minus infinity BEFORE the softmax, so each row still sums to 1.",
             dict(mask="after")),
        ]
        yield (f"block {i}'s attention", a_out, ref.attn(a_in),
               [(hint, _attention_variant(ref.attn, a_in, **change)) for hint, change in slips],
               "the heads: q, k and v each split into n_heads slices of d_head features (the first d_head features "
               "for head 0), one attention per head, the heads side by side again, then out_proj.")
        mlp = [("the GELU: yours is the tanh approximation (GELU(approximate='tanh'), GPT-2's); the reference, like "
                "nn.GELU(), uses the exact one.", torch.nn.functional.gelu(ref.mlp.fc_in(m_in), approximate="tanh")),
               ("the activation: the MLP uses the GELU, not the ReLU.", torch.relu(ref.mlp.fc_in(m_in))),
               ("the activation: fc_in, then the GELU, then fc_out (yours has none).", ref.mlp.fc_in(m_in))]
        yield (f"block {i}'s MLP", m_out, ref.mlp(m_in), [(hint, ref.mlp.fc_out(h)) for hint, h in mlp],
               "the MLP is fc_in, the GELU, then fc_out.")
        h, residual = x + a_out, "the residual: attention's output is ADDED to the stream before the MLP reads it."
        yield (f"block {i}", m_in, ref.norm2(h),
               [("the norm placement: each sublayer has its own norm, norm2 before the MLP.", ref.norm1(h)),
                (residual, ref.norm2(a_out)), (residual, a_out)],
               "the norm placement: the MLP reads norm2 of the stream after attention's update.")
        on_stream = "the norm placement: pre-norm normalizes what a sublayer reads, never the stream."
        yield (f"block {i}", out, h + m_out,
               [("the residual: the MLP's output is ADDED to the stream, not put in its place.", m_out),
                (on_stream, ref.norm2(h + m_out)), (on_stream, h + ref.norm2(m_out))],
               "the block returns the stream plus the attention's and the MLP's outputs.")
    reads_last = "the head should read final_norm of the last block's output."
    yield "the final norm and head", seen["final_norm"][0], out, [], reads_last  # out: the last block's output
    yield "the final norm and head", seen["head"][1], reference.head(seen["head"][0]), [], reads_last


def _locate(model, reference, ids):
    """(where, hint) for the first part of the learner's model that differs from the reference's on the same input."""
    seen, order = {}, []

    def record(part, args, out):
        seen[part] = (args[0] if args else None, out)
        order.extend([int(part.split(".")[1])] if part.count(".") == 1 else [])

    n = len(reference.blocks)
    parts = ["final_norm", "head", *(f"blocks.{i}{s}" for i in range(n) for s in ("", ".attn", ".mlp"))]
    modules = dict(model.named_modules())
    hooks = [modules[p].register_forward_hook(lambda m, a, out, p=p: record(p, a, out)) for p in parts if p in modules]
    try:
        _run(model, ids)
    finally:
        for h in hooks:
            h.remove()
    if sorted(order) == list(range(n)) and order != sorted(order):
        return "the order of the blocks", (f"your forward ran the blocks in the order {order}: run them in the order "
                                           "of self.blocks, block 0 first (it reads the embeddings plus positions).")
    missing = sorted(set(parts) - set(seen))
    if missing == ["final_norm"]:
        return "the final norm and head", FINAL_NORM
    if missing:
        return "its parts", f"{missing} never ran in your forward: each part of the given __init__ has its place."
    for where, got, expected, slips, otherwise in _parts(seen, reference, ids):
        if compare(got, expected) is not None:  # the first part that differs
            return where, _slip(got, slips, otherwise)
    if compare(seen["head"][0], seen["final_norm"][0]) is None:
        return "the final norm and head", FINAL_NORM
    return "the final norm and head", "the logits should be head(final_norm(x))."


def check_gpt_equal(GPT, atol=1e-5):
    """With TinyTransformer's weights, GPT gives its logits to atol; else names the first part that differs."""

    def test(GPT):
        for config, ids in [(SMALL, _ids(2, 9, 11, 6)), ({**SMALL, "n_layers": 3, "n_heads": 4}, _ids(1, 12, 11, 7))]:
            model, reference = _build(GPT, config, seed=8)
            with torch.no_grad():
                problem = compare(_run(model, ids), reference(ids), atol=atol)
                if problem:
                    where, hint = _locate(model, reference, ids)
                    stuck = "CausalSelfAttention" if "attention" in where else "GPT"
                    return f"{problem}. The first difference is in {where}", hint, stuck

    return _verdict("GPT equals helpers.TinyTransformer", test, GPT, n_cases=2)


def yours_or_reference(yours, reference, check):
    """`yours` if it passes `check` (run quietly), else `reference`; says which, so later cells never wait for you."""
    with contextlib.redirect_stdout(io.StringIO()):
        ready = bool(check(yours))
    if ready:
        print(f"Your {yours.__name__} passes its check: the cells below use it.")
        return yours
    name = f"{reference.__module__}.{reference.__qualname__}".replace("helpers.layers.", "helpers.")
    print(f"Your {yours.__name__} does not pass its check yet (above): the cells below use {name} instead.")
    return reference


# ----------------------------------------------------------------------------- the KV cache


def _cached(model, ids, cache, shift=0, past=None, swap=False, causal=True):
    """lm.forward_with_cache with one known slip: the new tokens' positions start `shift` off, or at `past` (where
    the learner thinks the cache ends); the cached keys and values read `swap`ped; `causal=False`: no mask among
    the new tokens (on a chunk after the cache, that is a mask built for the prompt only)."""
    cached, new = (cache[0]["k"].shape[2] if cache[0] else 0), ids.shape[1]
    start = max((cached if past is None else past) + shift, 0)
    x = model.token_embedding(ids) + model.positional(start + new)[start:]
    allowed = torch.ones(new, cached + new, dtype=torch.bool)
    allowed = allowed.tril(diagonal=cached) if causal else allowed
    for block, kv in zip(model.blocks, cache, strict=True):
        q, k, v = (split_heads(t, block.attn.n_heads) for t in block.attn.in_proj(block.norm1(x)).chunk(3, dim=-1))
        if kv:
            k, v = torch.cat([kv["v" if swap else "k"], k], dim=2), torch.cat([kv["k" if swap else "v"], v], dim=2)
        kv["k"], kv["v"] = k, v
        x = x + block.attn.out_proj(merge_heads(attention(q, k, v, mask=allowed)[0]))
        x = x + block.mlp(block.norm2(x))
    return model.head(model.final_norm(x))


def _rows(model):
    """Hooks counting the rows (tokens) each part of `model` reads: ({part: most rows in one call}, hooks)."""
    rows, hooks = {}, []
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding, torch.nn.LayerNorm, LayerNorm)):
            def count(m, args, out, name=name):
                n = args[0].numel() if isinstance(m, torch.nn.Embedding) else args[0].shape[:-1].numel()
                rows[name] = max(rows.get(name, 0), n)
            hooks.append(module.register_forward_hook(count))
    return rows, hooks


def check_forward_with_cache(learner_fn):
    """learner_fn(model, ids (batch, t_new), cache) -> logits (batch, t_new, vocab) as model(all ids)[:, -t_new:];
    cache: one dict per block, filled with "k", "v" (batch, n_heads, t, d_head). Called with a prompt of 4 tokens,
    then 3 more at once (t_past > 0 and t_new > 1, a prompt given in two parts), then one token at a time. Each
    part of the model (a Linear, Embedding or LayerNorm, counted by forward hooks) may read only the new tokens:
    one that reads more has recomputed the earlier tokens, which the cache is there to spare."""
    name = "forward with a KV cache"
    nudge = ("only the new tokens go in: each block computes their queries, keys and values, appends the keys and "
             "values to its cache, and lets the new queries attend to every cached key and to the new ones up to "
             "their own. The new tokens' positions continue where the cache ends.")
    model, _ = _build(TinyTransformer, SMALL, seed=9)
    ids, cache, ours = _ids(2, 10, 11, seed=10), [{} for _ in model.blocks], [{} for _ in model.blocks]
    bounds = [0, 4, 7, 8, 9, 10]  # the prompt, a chunk of 3 after it, then one token at a time
    for past, t in zip(bounds, bounds[1:], strict=False):
        new, before = ids[:, past:t], [dict(kv) for kv in cache]
        where = (f"for the prompt ({t} tokens)" if not past else f"for the new token at position {past}" if t - past
                 == 1 else f"for {t - past} new tokens at once, at positions {past}-{t - 1} after {past} cached")
        rows, hooks = _rows(model)
        try:
            with torch.no_grad():
                got = run_learner(learner_fn, (model, new, cache))
        except LearnerError as failure:
            return failed(name, failure, nudge, learner_fn, f"{where}: ")
        finally:
            for hook in hooks:
                hook.remove()
        with torch.no_grad():
            expected = model(ids[:, :t])[:, past:]
            problem = compare(got, expected)
            if problem:
                unmasked = ("new tokens given at once after a cache need the causal mask among themselves too: new "
                            "token i sees every cached key and the new ones up to its own." if past else
                            "the prompt's tokens, given at once, need the causal mask among themselves.")
                slips = [(unmasked, dict(causal=False)),
                         ("the new tokens saw only themselves: put the cached keys and values before their own.",
                          dict(fresh=True)),
                         ("the positions: the new tokens got positions from 0 again; the first sits at position "
                          "t_past, the number of tokens already cached.", dict(past=0)),
                         ("the positions are one too low: the first new token sits at position t_past (the number of "
                          "tokens cached), not t_past - 1.", dict(shift=-1)),
                         ("the positions are one too high: the first new token sits at position t_past (0 for the "
                          "prompt), not t_past + 1.", dict(shift=1)),
                         ("t_past, the number of cached tokens, is the cached k's dimension 2, (batch, n_heads, "
                          "t_past, d_head); dimension 1 is n_heads.", dict(past=SMALL["n_heads"] if past else 0)),
                         ("k and v are swapped: the new keys go after the cached KEYS ('k'), the new values after "
                          "the cached values ('v').", dict(swap=True))]
                hint = next((h for h, slip in slips if _slip_matches(got, expected, model, new, before, slip)),
                            "for the prompt, the same as model(prompt): your GPT's steps, keys and values from "
                            "norm1." if not past else "the new tokens attend to every cached key and to the new "
                            "ones up to their own.")
                return verdict(name, f"{where}: {problem}", hint, stuck=learner_fn)
            _cached(model, new, ours)
        more = {part: n for part, n in rows.items() if n > new.numel()}
        if more:
            part, n = max(more.items(), key=lambda item: item[1])
            only = f"the {t - past} new ones" if t - past > 1 else "the new one"
            return verdict(name, f"{where}: your function ran {part} on {n // new.shape[0]} tokens per sequence, "
                           f"not only on {only}", "a cache's point: the earlier tokens' keys and "
                           "values are read from the cache, never computed again, so only the new tokens go through "
                           "the embedding, the blocks and the head.", stuck=learner_fn)
        shape = (2, SMALL["n_heads"], t, SMALL["d_model"] // SMALL["n_heads"])
        shapes = [tuple(kv[x].shape) if isinstance(kv.get(x), torch.Tensor) else None for kv in cache for x in "kv"]
        if set(shapes) != {shape}:
            return verdict(name, f"after {t} tokens the cache holds {shapes}, expected every 'k' and 'v' of shape "
                           f"(batch, n_heads, {t}, d_head) = {shape}", nudge, stuck=learner_fn)
        for i, (kv, right) in enumerate(zip(cache, ours, strict=True)):
            for x, other in (("k", "v"), ("v", "k")):
                if compare(kv[x], right[x]) is not None:
                    swapped = compare(kv[x], right[other]) is None
                    hint = ("'k' must hold the keys and 'v' the values: yours are swapped." if swapped else
                            "each block's cache holds that block's keys and values of every token so far, split into "
                            "heads: in_proj of norm1 of the block's input, its second and third thirds.")
                    return verdict(name, f"after {t} tokens block {i}'s cached '{x}' differs from the keys and "
                                   "values the model computes", hint, stuck=learner_fn)
    return verdict(name, None, n_cases=len(bounds) - 1)


def _slip_matches(got, expected, model, new, before, slip):
    """True if the known `slip` (keywords of _cached, or fresh=True: the cache ignored) gives `got` and differs
    from the right answer."""
    slip = dict(slip)
    cache = [{} for _ in before] if slip.pop("fresh", False) else [dict(kv) for kv in before]
    try:
        wrong = _cached(model, new, cache, **slip)
    except Exception:  # a slip that does not apply here
        return False
    return compare(wrong, expected) is not None and compare(got, wrong) is None


WHY["largest difference of the training losses over 50 steps"] = (
    "both models compute the same function from the same weights and get the same batches, so their gradients and "
    "updates agree: the runs differ only by float rounding, far below the 0.00001 nats the cell prints."
)
