"""Argument checks shared by helpers' modules, so that the modules a learner reads keep to the maths.

Each check raises a TypeError/ValueError naming the argument, what was expected and what came. A check that
reads a tensor's values (not only its shape and dtype) synchronises a GPU with the host: the few that do say so.
"""

import math

import torch


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")


def check_sizes(**sizes):
    """check_positive_int on each keyword: check_sizes(d_model=d_model, n_heads=n_heads)."""
    for name, value in sizes.items():
        check_positive_int(value, name)


def check_positive_number(value, name, *, optional=False, note=""):
    """The one positive-number check (lr, eps, base, grad_clip, temperature...): a finite int or float > 0, or None
    when `optional`. A string such as "1e-3" is refused too, with a ValueError naming the argument."""
    if optional and value is None:
        return
    if not _is_number(value) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number{' or None' if optional else ''}{note}, got {value!r}")


def check_fraction(value, name, *, optional=False, note=""):
    """A number in [0, 1], or None when `optional` (`note` says what None means)."""
    if optional and value is None:
        return
    if not (_is_number(value) and 0 <= value <= 1):
        raise ValueError(f"{name} must be a number in [0, 1]{' or None' if optional else ''}{note}, got {value!r}")


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


def check_input(x, module, *, ndim=3, name="x"):
    """The input of a layer with `module.d_model` features: a float tensor (batch, seq, d_model) (ndim=3) or
    (..., d_model) (ndim=None). Its dtype and device against the parameters' are left to torch, whose errors
    say it ("mat1 and mat2 must have the same dtype", "Expected all tensors to be on the same device")."""
    d = module.d_model
    layout = f"(batch, seq, d_model={d})" if ndim == 3 else f"(..., d_model={d})"
    check_tensor(x, name, layout=layout, ndim=ndim, min_ndim=1, last_dim=d)


def has_values(t):
    """False on the meta device, where tensors have shapes but no values (tests/test_devices.py runs every
    layer there to catch a CPU tensor mixed in), and inside vmap: the checks that read values are skipped there,
    nothing else."""
    # Under torch.func.vmap (helpers.train_seeds) a value cannot become a Python bool either.
    return t.device.type != "meta" and not torch._C._functorch.is_functorch_wrapped_tensor(t)


def check_token_ids(ids, name, *, layout, ndim, vocab_size=None, max_len=None):
    """Integer token ids of shape `layout` (ndim dims), at most max_len per sequence, each in [0, vocab_size) when
    vocab_size is given: then it reads the ids (a host-device sync), so only entry points that run once per
    generation call it so; a per-step forward leaves the range to `embed` below."""
    if not isinstance(ids, torch.Tensor) or ids.dtype not in (torch.int64, torch.int32):
        got = ids.dtype if isinstance(ids, torch.Tensor) else type(ids).__name__
        raise TypeError(f"{name} must be a tensor of integer token ids (torch.long), got {got}")
    if ids.dim() != ndim:
        raise ValueError(f"{name}: expected shape {layout}, got shape {tuple(ids.shape)}")
    if max_len is not None and ids.shape[-1] > max_len:
        check_seq_len(ids.shape[-1], max_len)
    if vocab_size is not None and ids.numel() and has_values(ids) and (ids.min() < 0 or ids.max() >= vocab_size):
        _raise_out_of_range(ids, name, vocab_size)


def _raise_out_of_range(ids, name, vocab_size):
    raise ValueError(
        f"{name}: token ids must be in [0, {vocab_size}), got values from {ids.min().item()} to {ids.max().item()}"
    )


def embed(embedding, ids, name):
    """embedding(ids), where an id out of range is a ValueError naming the range instead of the embedding's
    "index out of range in self". Reads no ids unless the lookup failed: a forward runs every step, and reading
    values there would sync a GPU with the host each time (and stop torch.func.vmap). On CUDA an id out of range
    stays torch's device-side assert, an error too."""
    try:
        return embedding(ids)
    except IndexError:
        _raise_out_of_range(ids, name, embedding.num_embeddings)


def check_seq_len(seq_len, max_len):
    check_positive_int(seq_len, "seq_len")
    if seq_len > max_len:
        raise ValueError(f"sequence length {seq_len} is longer than max_len={max_len} this model was built for")


# ----------------------------------------------------------------------------- attention


def check_instance(value, cls, what):
    if not isinstance(value, cls):
        raise TypeError(f"expected a {what}, got {type(value).__name__}")


def check_norm_args(d_model, eps):
    check_positive_int(d_model, "d_model")
    check_positive_number(eps, "eps")


def check_sublayers(attention, mlp):
    if not (attention or mlp):
        raise ValueError("a block needs at least one sublayer: attention=True or mlp=True")


def check_mask_has_attention(mask, attn):
    """A mask given to a block without attention would be ignored: refuse it."""
    if mask is not None and attn is None:
        raise ValueError("mask given to a block built without attention (attention=False): it has nothing to mask")


def check_heads(d_model, n_heads):
    check_sizes(d_model=d_model, n_heads=n_heads)
    if d_model % n_heads:
        raise ValueError(f"d_model must be divisible by n_heads: d_model={d_model}, n_heads={n_heads}")


def check_attention_args(q, k, v, mask=None, causal=False):
    """q (..., seq_q, d_k), k (..., seq_k, d_k), v (..., seq_k, d_v) float tensors, q and k of one d_k, k and v
    of one seq_k (the matmul's own error would blame "batch2"), at least one key and d_k > 0 (else the weights are
    nan or the output silently 0); then the mask. Mixed dtypes are the matmul's clear error; the leading dims
    broadcast, as in torch's F.scaled_dot_product_attention."""
    check_tensor(q, "q", layout="(..., seq_q, d_k)", min_ndim=2)
    check_tensor(k, "k", layout="(..., seq_k, d_k)", min_ndim=2)
    check_tensor(v, "v", layout="(..., seq_k, d_v)", min_ndim=2)
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(f"q and k must share d_k (last dim): q has shape {tuple(q.shape)}, k has {tuple(k.shape)}")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(
            f"k and v must have the same number of positions (dim -2): "
            f"k has shape {tuple(k.shape)}, v has {tuple(v.shape)}"
        )
    if k.shape[-2] == 0:
        raise ValueError(f"k has no positions (shape {tuple(k.shape)}): a query needs at least one key to attend to")
    if q.shape[-1] == 0:
        raise ValueError(f"q and k have d_k = 0 (q has shape {tuple(q.shape)}): every score would be 0 / sqrt(0)")
    if mask is not None:
        check_mask(mask, (*q.shape[:-1], k.shape[-2]), causal)


def check_mask(mask, scores_shape, causal=False):
    """A boolean mask (True = may attend) or a float one (added to the scores) that broadcasts to the scores'
    shape (..., seq_q, seq_k) without growing it. Integer masks are refused (torch's scaled_dot_product_attention
    refuses them too): added to the scores, a 0/1 int mask would hide nothing.

    Reads the mask's values (a host-device sync; the models here pass no mask per step, only `causal`), because
    each case it refuses would be a silently wrong result: a float mask of only 0s and 1s (a boolean mask in
    disguise, that would hide nothing), one holding nan or +inf, or one that leaves a query with no key (its
    weights would be nan).
    """
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise TypeError(
            f"mask must be boolean (True = may attend) or floating-point (added to the scores), got dtype "
            f"{mask.dtype}; for a 0/1 mask pass mask.bool()"
        )
    # One that cannot broadcast is torch's own "Attempting to broadcast a dimension..."; one with more or bigger
    # dims would broadcast the output to a bigger shape, silently.
    if torch.broadcast_shapes(mask.shape, scores_shape) != scores_shape:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape {tuple(scores_shape)}"
        )
    if not has_values(mask):
        return
    if mask.is_floating_point():
        if (mask.isnan() | mask.isposinf()).any():
            raise ValueError("mask contains nan or +inf: an additive mask holds 0 (attend) and -inf (blocked)")
        if ((mask == 0) | (mask == 1)).all() and (mask == 1).any():
            raise ValueError(
                "mask is a float tensor of 0s and 1s: a float mask is ADDED to the scores, so it would hide nothing. "
                "It looks like a boolean mask in disguise: pass mask.bool() (True = may attend), "
                "or an additive mask of 0 and -inf"
            )
    allowed = mask if mask.dtype == torch.bool else ~mask.isneginf()
    if causal:
        allowed = allowed & torch.ones(scores_shape[-2:], dtype=torch.bool, device=mask.device).tril()
    if not allowed.any(dim=-1).all():
        raise ValueError(
            "the mask leaves some query with no key to attend to (a row of all False, or all -inf in a float mask)"
        )


def check_head_mask(mask):
    """A multi-head layer's mask: (seq_q, seq_k), (batch, seq_q, seq_k) or (batch, n_heads or 1, seq_q, seq_k)."""
    if isinstance(mask, torch.Tensor) and mask.dim() not in (2, 3, 4):
        raise ValueError(
            "mask: expected shape (seq_q, seq_k), (batch, seq_q, seq_k) or (batch, n_heads or 1, seq_q, seq_k), "
            f"got shape {tuple(mask.shape)} ({mask.dim()}-D)"
        )


def check_batch_norm_input(x, d_model, training):
    """(batch, d_model) or (batch, seq, d_model); in training mode more than one value per feature."""
    layout = f"(batch, d_model={d_model}) or (batch, seq, d_model={d_model})"
    check_tensor(x, "x", layout=layout, ndim=(2, 3), last_dim=d_model)
    if training and x.numel() // d_model < 2:
        raise ValueError(
            f"BatchNorm in training mode needs more than 1 value per feature, got input of shape "
            f"{tuple(x.shape)}; use a bigger batch or call .eval()"
        )


# ----------------------------------------------------------------------------- training


def check_train_args(model, steps, lr, optimizer, optimizers, grad_clip):
    """What would train silently (no trainable parameter, steps=0 or lr=0 train nothing) or fail obscurely; a
    model or loss_fn of the wrong kind is Python's own clear error ("'int' object is not callable")."""
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"model ({type(model).__name__}) has no trainable parameters: there is nothing to train")
    check_positive_int(steps, "steps")
    check_positive_number(lr, "lr")
    check_positive_number(grad_clip, "grad_clip", optional=True)
    check_choice(optimizer, "optimizer", optimizers)


def check_batch(batch):
    """What train's data gave for one step: an (x, y) pair of tensors (numpy arrays would fail later, far from
    here). Data of the wrong kind is Python's own "'int' object is not callable". Returns the pair."""
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2 and all(isinstance(t, torch.Tensor) for t in batch)):
        got = [type(t).__name__ for t in batch] if isinstance(batch, (tuple, list)) else type(batch).__name__
        raise TypeError(f"data must give an (x, y) pair of two torch.Tensors, got {got}; use torch.as_tensor(...)")
    return batch


def check_loss_args(output, y, ignore_index):
    """output and targets y for default_loss: float y of output's shape (squared error), or integer y of output's
    shape without its last dim (cross-entropy) with at least one position scored (y != ignore_index).

    Reads y's values (a host-device sync, as train's loss.item() is anyway): with no scored position the
    cross-entropy is nan, which train would report as a diverged run.
    """
    if y.is_floating_point():
        if output.shape != y.shape:  # mse_loss would broadcast them, with only a warning
            raise ValueError(
                f"float targets: output shape {tuple(output.shape)} must equal y shape {tuple(y.shape)} "
                "for the squared error"
            )
        return
    if has_values(y) and not (y != ignore_index).any():
        raise ValueError(
            f"y has no scored position (every target is {ignore_index}, the ignored value): the loss would be nan"
        )


# ----------------------------------------------------------------------------- activations


def check_watched(named):
    """{name: module}, at least one, each module once: none would record nothing, one watched twice would record
    every output twice. A module of the wrong kind is Python's own "'int' object has no attribute
    'register_forward_hook'"."""
    if not named or len({id(m) for m in named.values()}) < len(named):
        raise ValueError(f"modules must name at least one module, each module once; got {list(named)}")


def check_all_ran(calls, model):
    """calls: {name: outputs recorded}; every watched module must have run."""
    silent = [n for n, outputs in calls.items() if not outputs]
    if silent:
        raise ValueError(
            f"these watched modules never ran during model(x): {silent}; are they part of {type(model).__name__}'s "
            "forward pass?"
        )


def check_token_vectors(x):
    """(batch, seq, d) or (seq, d) with batch >= 1, seq >= 2, d >= 1, and no all-zero vector (which has no
    direction: its cosine would read 0, as if at right angles). Reads x's values."""
    check_tensor(x, "x", layout="(batch, seq, d) or (seq, d)", ndim=(2, 3))
    if x.shape[-2] < 2:
        raise ValueError(f"need at least 2 tokens to compare, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"x: the batch is empty (shape {tuple(x.shape)}): there are no tokens to compare")
    if has_values(x) and (x == 0).all(dim=-1).any():  # also the empty vectors of d = 0
        raise ValueError(
            f"x holds an all-zero token vector (shape {tuple(x.shape)}): it has no direction, so no cosine with others"
        )


def check_real_values(x):
    """Not complex: x.float() would drop the imaginary part with only a warning. An empty x is torch's own
    "max(): Expected reduction dim to be specified for input.numel() == 0"."""
    if x.is_complex():
        raise TypeError(f"x must be a real tensor, got dtype {x.dtype}")


def check_has_gradients(grads, name):
    if not grads:
        raise ValueError(f"{name} has no gradients: call loss.backward() first")


# ----------------------------------------------------------------------------- plotting


def check_runs(runs):
    """{variant: {layer name: stats dict}}, not empty, every variant with the same layers in one order: else the
    x axis would silently name the wrong layers. A stat not in the stats is Python's own KeyError naming it."""
    layers = [list(stats) for stats in runs.values()]
    if not layers[0] or any(names != layers[0] for names in layers):
        raise ValueError(
            f"runs must be non-empty and every variant must have the same layers, in one order: {layers}"[:300]
        )


def check_matrix(m, name, layout, hint=""):
    """A non-empty 2-D tensor: imshow would silently draw a 3-D one with 3 or 4 columns as colours. What is no
    tensor, array or list of numbers is torch's own "Could not infer dtype of NoneType"."""
    if m.dim() != 2 or 0 in m.shape:
        raise ValueError(f"{name}: expected a non-empty matrix of shape {layout}, got {tuple(m.shape)}{hint}")


def check_labels(labels, n, name, what, shape):
    if labels is not None and len(labels) != n:
        raise ValueError(f"{name}: {len(labels)} labels for {n} {what} of weights with shape {tuple(shape)}")


def check_losses(label, values):
    """A flat, non-empty series of losses: a nested one would silently plot as several curves, an empty one as
    none. What is not numbers is numpy's own "could not convert string to float"."""
    if values.ndim != 1 or not len(values):
        raise ValueError(f"{label}: expected a flat, non-empty list of losses, got shape {tuple(values.shape)}")


# ----------------------------------------------------------------------------- language models (07, 08)
def check_ids(ids, name, vocab_size=None, min_len=1):
    """A 1-D tensor of at least `min_len` token ids, each in [0, vocab_size) when it is given (reads the values)."""
    check_token_ids(ids, name, layout="(seq,), a 1-D tensor of token ids", ndim=1)
    if len(ids) < min_len:
        raise ValueError(f"{name} needs at least {min_len} token id{'s' if min_len > 1 else ''}, got {len(ids)}")
    # Reads the values (once per call, never per step): an id out of range would silently count as another pair
    # in bigram_counts (a * vocab_size + b aliases) and be an opaque device-side assert on CUDA elsewhere.
    if vocab_size is not None and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"{name}: token ids must be in [0, {vocab_size}), got {ids.min().item()} to {ids.max().item()}"
        )


def check_generate_args(model, prompt, max_new_tokens, temperature, top_k, use_cache):
    vocab_size = getattr(model, "vocab_size", None)  # the range is read once here, not at every step's forward
    check_token_ids(prompt, "prompt", layout="(seq,), a 1-D tensor of token ids", ndim=1, vocab_size=vocab_size)
    if len(prompt) == 0:
        raise ValueError("prompt must hold at least one token id: the model needs something to continue")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    check_positive_number(temperature, "temperature", note=" (for greedy decoding use top_k=1)")
    max_len = getattr(model, "max_len", None)
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= (vocab_size or top_k)
    ):
        raise ValueError(f"top_k must be None or an int from 1 to vocab_size={vocab_size}, got {top_k!r}")
    if max_len is not None and len(prompt) > max_len:
        raise ValueError(
            f"prompt has {len(prompt)} tokens, longer than the model's max_len={max_len}; "
            f"shorten it (e.g. prompt[-{max_len}:])"
        )
    if use_cache:
        check_cacheable(model)


def check_cacheable(model):
    """forward_with_cache walks pre-norm causal blocks with skips: refuse a model that has other blocks, whose
    cached forward would silently differ from its own."""
    blocks = getattr(model, "blocks", None)
    if not blocks or any(
        getattr(b, "norm_position", "pre") != "pre"
        or not getattr(b, "skip", True)
        or not getattr(getattr(b, "attn", None), "causal", True)
        for b in blocks
    ):
        raise ValueError(
            "use_cache=True needs a GPT-like model: .blocks of pre-norm causal attention with skips "
            f"(as helpers.TinyTransformer's defaults); {type(model).__name__} has not, use use_cache=False"
        )


def check_baseline_args(train_ids, val_ids, vocab_size, smoothing):
    check_ids(train_ids, "train_ids", vocab_size, min_len=2)
    check_ids(val_ids, "val_ids", vocab_size, min_len=2)
    if not _is_number(smoothing) or not smoothing > 0:
        raise ValueError(f"smoothing must be a number > 0, got {smoothing!r}")


def check_training_args(model, train, steps, eval_every, batch_size):
    check_positive_int(steps, "steps")
    check_positive_int(eval_every, "eval_every")
    check_positive_int(batch_size, "batch_size")
    if train.vocab_size != getattr(model, "vocab_size", train.vocab_size):
        raise ValueError(f"the model has vocab_size={model.vocab_size}, the corpus {train.vocab_size}")


def check_windows(ids, block_size):
    if len(ids) - 1 < block_size:
        raise ValueError(f"the text has {len(ids)} tokens, too few for one window of block_size={block_size}")


def check_tieable(model):
    """The same shape, else head.weight = embedding.weight would pass and the next forward fail far from here;
    a model without .token_embedding or .head is Python's AttributeError naming it."""
    embedding, head = model.token_embedding, model.head
    if embedding.weight.shape != head.weight.shape:
        raise ValueError(
            f"embedding {tuple(embedding.weight.shape)} and head {tuple(head.weight.shape)} must have the same shape"
        )


# ----------------------------------------------------------------------------- the encoder-decoder (06)


def check_padding(padding, name, x):
    """padding: None or a boolean (batch, len) tensor, True = padding, for x (batch, len, d_model)."""
    if padding is not None and getattr(padding, "dtype", None) != torch.bool:
        raise TypeError(f"{name} must be a boolean tensor (True = padding), got {getattr(padding, 'dtype', padding)}")
    if padding is not None and padding.shape != x.shape[:2]:
        raise ValueError(f"{name} must have shape (batch, len) = {tuple(x.shape[:2])}, got {tuple(padding.shape)}")


def check_streams(d_model, src, src_padding, tgt=None, tgt_padding=None, all_padding_ok=True):
    """The encoder-decoder's entry check: streams (batch, len, d_model) of one batch size, and their paddings."""
    for x, padding, name in ((src, src_padding, "src"), (tgt, tgt_padding, "tgt")):
        if x is not None:
            check_tensor(x, name, layout=f"(batch, {name}_len, d_model)", ndim=3, last_dim=d_model)
            check_padding(padding, f"{name}_padding", x)
    if tgt is not None and tgt.shape[0] != src.shape[0]:
        raise ValueError(f"src and tgt must have one batch size: src {tuple(src.shape)}, tgt {tuple(tgt.shape)}")
    # Reads values, once per source: a sequence of padding only would give garbage without an error
    # (each padded query attends to itself) and NaN in the decoder's cross-attention.
    if not all_padding_ok and src_padding is not None and src_padding.all(dim=1).any():
        raise ValueError(f"src_padding marks every position of sequence {src_padding.all(1).nonzero()[0, 0]}")
