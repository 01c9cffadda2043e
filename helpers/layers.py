"""The parts of a transformer, one idea per class.

The notebooks build each of these step by step; this module is the single reference they end on.
Shapes follow the convention (batch, seq, d_model) throughout. Every layer equals its torch
counterpart (tests/test_layers.py proves it), so nothing here silently differs from `torch.nn`.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import (
    check_attention_args,
    check_batch_norm_input,
    check_choice,
    check_fraction,
    check_head_mask,
    check_heads,
    check_input,
    check_mask_has_attention,
    check_norm_args,
    check_positive_number,
    check_seq_len,
    check_sizes,
    check_sublayers,
    check_tensor,
    check_token_ids,
    embed,
)

# Each layer checks its arguments with one call into _validate (a wrong shape says what was expected and what
# came); the checks that read tensor values, not only shapes, say why they must.

# ----------------------------------------------------------------------------- positions


def sinusoidal_positional_encoding(seq_len, d_model, base=10000.0):
    """Vaswani et al. 2017, section 3.5: PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(...).

    Returns a (seq_len, d_model) float32 tensor. An odd d_model works: the last column is a sine.
    """
    check_sizes(seq_len=seq_len, d_model=d_model)
    check_positive_number(base, "base")
    position = torch.arange(seq_len, dtype=torch.float32)[:, None]  # (seq_len, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # the even feature indices 2i
    angles = position / base ** (two_i / d_model)  # (seq_len, ceil(d_model / 2))
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])
    return pe


class SinusoidalPositionalEncoding(nn.Module):
    """The fixed encoding as a module: forward(seq_len) -> (seq_len, d_model). Nothing to learn."""

    def __init__(self, max_len, d_model):
        super().__init__()
        check_sizes(max_len=max_len)
        self.max_len = max_len
        # A buffer, not a parameter: it moves with .to(device) but the optimizer never sees it.
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model), persistent=False)

    def forward(self, seq_len):
        check_seq_len(seq_len, self.max_len)
        return self.pe[:seq_len]


class LearnedPositionalEmbedding(nn.Module):
    """One trained vector per position (GPT-2 style): forward(seq_len) -> (seq_len, d_model)."""

    def __init__(self, max_len, d_model):
        super().__init__()
        check_sizes(max_len=max_len, d_model=d_model)
        self.max_len = max_len
        self.embedding = nn.Embedding(max_len, d_model)

    def forward(self, seq_len):
        check_seq_len(seq_len, self.max_len)
        return self.embedding(torch.arange(seq_len, device=self.embedding.weight.device))


# ----------------------------------------------------------------------------- attention


def causal_mask(seq_len, device=None):
    """(seq_len, seq_len) boolean mask, True where query i may look at key j, i.e. j <= i."""
    check_sizes(seq_len=seq_len)
    return torch.ones(seq_len, seq_len, dtype=torch.bool, device=device).tril()


def attention(q, k, v, mask=None, causal=False):
    """Scaled dot-product attention: softmax(q k^T / sqrt(d_k)) v.

    q: (..., seq_q, d_k), k: (..., seq_k, d_k), v: (..., seq_k, d_v), all of one dtype.
    mask: boolean, True = may attend (as in F.scaled_dot_product_attention), broadcastable to
    (..., seq_q, seq_k); or a float mask that is added to the scores (0 = attend, -inf = blocked).
    Integer masks, float masks of only 0s and 1s, and masks that leave a query with no key at all are refused.
    Returns (output (..., seq_q, d_v), weights (..., seq_q, seq_k)).
    """
    check_attention_args(q, k, v, mask, causal)  # reads a mask's values, if one is given: see check_mask
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., seq_q, seq_k)
    scores = apply_mask(scores, mask, causal)
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def apply_mask(scores, mask=None, causal=False):
    """The scores with -inf wherever a query may not look, so that softmax gives those keys weight 0.

    causal: query i sees keys j <= i. mask: boolean (True = may attend) or float (added to the scores, cast to
    their dtype); either is moved to the scores' device.
    """
    if causal:
        allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    if mask is None:
        return scores
    mask = mask.to(scores.device)
    if mask.dtype == torch.bool:
        return scores.masked_fill(~mask, float("-inf"))
    return scores + mask.to(scores.dtype)


def split_heads(x, n_heads):
    """(batch, seq, d_model) -> (batch, n_heads, seq, d_model / n_heads): each head gets its own slice of features."""
    batch, seq, d_model = x.shape
    return x.view(batch, seq, n_heads, d_model // n_heads).transpose(1, 2)


def merge_heads(x):
    """(batch, n_heads, seq, d_head) -> (batch, seq, n_heads * d_head): the heads' outputs side by side again."""
    batch, n_heads, seq, d_head = x.shape
    return x.transpose(1, 2).reshape(batch, seq, n_heads * d_head)


class MultiHeadAttention(nn.Module):
    """n_heads attentions side by side, each on d_model / n_heads features, then mixed by out_proj.

    forward(x, mask=None, causal=None) -> (batch, seq, d_model). The last call's attention weights,
    (batch, n_heads, seq, seq), are kept in `self.weights` for plotting. mask as in attention(), of shape
    (seq, seq) for every sequence, (batch, seq, seq) for each sequence (all its heads), or
    (batch, n_heads or 1, seq, seq).
    """

    def __init__(self, d_model, n_heads, bias=True, causal=False):
        super().__init__()
        check_heads(d_model, n_heads)
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.causal = causal
        # One matrix makes q, k and v for all heads at once, laid out like torch's in_proj_weight.
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.weights = None

    def forward(self, x, mask=None, causal=None):
        check_input(x, self)
        return self.attend(*self.project(x), mask, self.causal if causal is None else causal)

    def project(self, x, memory=None):
        """q, k, v (batch, n_heads, seq, d_head), each head its own slice: all three from x, or (cross-attention)
        q from x and k, v from `memory`. in_proj's rows are W_q, W_k, W_v, as torch's in_proj_weight."""
        if memory is None:
            q, k, v = self.in_proj(x).split(self.d_model, dim=-1)
        else:
            sizes = [self.d_model, 2 * self.d_model]
            w_q, w_kv = self.in_proj.weight.split(sizes)
            b_q, b_kv = (None, None) if self.in_proj.bias is None else self.in_proj.bias.split(sizes)
            q = F.linear(x, w_q, b_q)  # what each target position is looking for
            k, v = F.linear(memory, w_kv, b_kv).split(self.d_model, dim=-1)  # what each source position offers
        return [split_heads(t, self.n_heads) for t in (q, k, v)]

    def attend(self, q, k, v, mask=None, causal=False):
        """Every head's attention, merged and mixed by out_proj: (batch, seq_q, d_model)."""
        out, weights = attention(q, k, v, self._per_head(mask), causal)
        self.weights = weights.detach()
        return self.out_proj(merge_heads(out))

    @staticmethod
    def _per_head(mask):
        """(seq_q, seq_k) applies to all; (batch, seq_q, seq_k) to every head of its own sequence, so it gets a
        heads axis (broadcast as is, it would line up with the heads); (batch, heads or 1, seq_q, seq_k) as is."""
        check_head_mask(mask)
        return mask.unsqueeze(1) if isinstance(mask, torch.Tensor) and mask.dim() == 3 else mask


# ----------------------------------------------------------------------------- MLP

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


class MLP(nn.Module):
    """Position-wise feed-forward: expand to d_hidden, nonlinearity, project back to d_model."""

    def __init__(self, d_model, d_hidden=None, activation="gelu", bias=True):
        super().__init__()
        d_hidden = 4 * d_model if d_hidden is None else d_hidden
        check_sizes(d_model=d_model, d_hidden=d_hidden)
        check_choice(activation, "activation", ACTIVATIONS)
        self.d_model = d_model
        self.fc_in = nn.Linear(d_model, d_hidden, bias=bias)
        self.act = ACTIVATIONS[activation]()
        self.fc_out = nn.Linear(d_hidden, d_model, bias=bias)

    def forward(self, x):
        check_input(x, self, ndim=None)
        return self.fc_out(self.act(self.fc_in(x)))


# ----------------------------------------------------------------------------- normalization


def _compute_dtype(x):
    """float16/bfloat16 inputs are normalized in float32 and cast back, as torch's norms do: in half
    precision x**2 overflows above |x| = 256 and the result would be 0 or nan."""
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


class _TokenNorm(nn.Module):
    """What LayerNorm and RMSNorm share: each token normalized on its own over its d_model features, with a
    learned scale; the input's dtype is returned, half-precision input is computed in float32 (as torch's)."""

    def __init__(self, d_model, eps):
        super().__init__()
        check_norm_args(d_model, eps)
        self.d_model, self.eps = d_model, eps
        self.weight = nn.Parameter(torch.ones(d_model))

    def forward(self, x):
        check_tensor(x, "x", layout=f"(..., d_model={self.d_model})", min_ndim=1, last_dim=self.d_model)
        return self.normalize(x.to(_compute_dtype(x))).to(x.dtype)


class LayerNorm(_TokenNorm):
    """Each token on its own: subtract the mean of its features, divide by their std, scale and shift."""

    def __init__(self, d_model, eps=1e-5):
        super().__init__(d_model, eps)
        self.bias = nn.Parameter(torch.zeros(d_model))

    def normalize(self, h):
        mean = h.mean(dim=-1, keepdim=True)
        var = h.var(dim=-1, keepdim=True, unbiased=False)  # biased, as torch.nn.LayerNorm
        return (h - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class RMSNorm(_TokenNorm):
    """LayerNorm without the centring: divide each token by the root mean square of its features."""

    def __init__(self, d_model, eps=1e-6):
        super().__init__(d_model, eps)

    def normalize(self, h):
        rms = torch.sqrt(h.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return h / rms * self.weight


class BatchNorm(nn.Module):
    """Each feature on its own, normalized over the batch (and over positions for (batch, seq, d) input).

    Training mode uses the current batch's statistics and updates running averages (momentum=None: the
    plain average over all batches so far, as torch); eval mode uses the running averages. Matches
    torch.nn.BatchNorm1d on x.transpose(1, 2). Returns the input's dtype; half-precision input is
    computed in float32.
    """

    def __init__(self, d_model, eps=1e-5, momentum=0.1):
        super().__init__()
        check_norm_args(d_model, eps)
        check_fraction(momentum, "momentum", optional=True, note=" (cumulative average)")
        self.d_model, self.eps, self.momentum = d_model, eps, momentum
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model))
        self.register_buffer("running_mean", torch.zeros(d_model))
        self.register_buffer("running_var", torch.ones(d_model))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))  # as torch's state_dict

    def forward(self, x):
        check_batch_norm_input(x, self.d_model, self.training)
        h = x.to(_compute_dtype(x))
        dims = tuple(range(x.dim() - 1))  # every axis but the features
        if self.training:
            mean = h.mean(dim=dims)
            var = h.var(dim=dims, unbiased=False)
            with torch.no_grad():  # torch keeps the unbiased variance in its running average
                n = x.numel() // self.d_model
                self.num_batches_tracked += 1
                buffers = self.running_mean.dtype
                # a tensor, not .item(): nothing leaves the device
                weight = 1 / self.num_batches_tracked.to(buffers) if self.momentum is None else self.momentum
                self.running_mean.lerp_(mean.to(buffers), weight)
                self.running_var.lerp_((var * n / (n - 1)).to(buffers), weight)
        else:
            mean, var = self.running_mean, self.running_var
        return ((h - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias).to(x.dtype)


NORMS = {"layer": LayerNorm, "rms": RMSNorm, "batch": BatchNorm, None: None}


def make_norm(kind, d_model):
    check_choice(kind, "norm", NORMS)
    return nn.Identity() if kind is None else NORMS[kind](d_model)


# ----------------------------------------------------------------------------- block and model


def skip_and_norm(x, sublayer, norm, norm_position="pre", skip=True):
    """One sublayer wired with its skip connection and its norm, as every block here wires each of its sublayers.

    pre-norm (GPT-2): x + sublayer(norm(x));  post-norm (2017): norm(x + sublayer(x)).  skip=False drops the "x +".
    """
    if norm_position == "pre":
        out = sublayer(norm(x))
        return x + out if skip else out
    out = sublayer(x)
    return norm(x + out if skip else out)


class TransformerBlock(nn.Module):
    """Attention then MLP, each optionally wrapped in a skip connection and a norm.

    pre-norm (GPT-2):  x = x + attn(norm1(x));  x = x + mlp(norm2(x))
    post-norm (2017):  x = norm1(x + attn(x));  x = norm2(x + mlp(x))
    skip=False drops the "x +"; norm=None drops the norms; attention/mlp=False drops that sublayer.
    """

    def __init__(
        self,
        d_model,
        n_heads,
        d_hidden=None,
        skip=True,
        norm="layer",
        norm_position="pre",
        causal=False,
        activation="gelu",
        attention=True,
        mlp=True,
    ):
        super().__init__()
        check_choice(norm_position, "norm_position", ("pre", "post"))
        check_sublayers(attention, mlp)
        self.d_model, self.skip, self.norm_position = d_model, skip, norm_position
        self.attn = MultiHeadAttention(d_model, n_heads, causal=causal) if attention else None
        self.mlp = MLP(d_model, d_hidden, activation) if mlp else None
        self.norm1 = make_norm(norm, d_model) if attention else None
        self.norm2 = make_norm(norm, d_model) if mlp else None

    def _sublayer(self, x, layer, norm):
        return skip_and_norm(x, layer, norm, self.norm_position, self.skip)

    def forward(self, x, mask=None):
        check_input(x, self)
        check_mask_has_attention(mask, self.attn)
        if self.attn is not None:
            x = self._sublayer(x, lambda h: self.attn(h, mask=mask), self.norm1)
        if self.mlp is not None:
            x = self._sublayer(x, self.mlp, self.norm2)
        return x


class TinyTransformer(nn.Module):
    """A small transformer language model: token embedding + positions -> blocks -> final norm -> head.

    forward(idx (batch, seq) of token ids) -> logits (batch, seq, vocab_size).
    causal=True makes it a decoder (GPT); causal=False lets every token see the whole sequence.
    The final norm is used with pre-norm blocks (whose output is not normalized), as in GPT-2.
    """

    def __init__(
        self,
        vocab_size,
        d_model=64,
        n_layers=2,
        n_heads=4,
        max_len=64,
        positional="sinusoidal",
        d_hidden=None,
        skip=True,
        norm="layer",
        norm_position="pre",
        causal=True,
        activation="gelu",
    ):
        super().__init__()
        check_sizes(vocab_size=vocab_size, d_model=d_model, n_layers=n_layers, max_len=max_len)
        check_choice(positional, "positional", ("sinusoidal", "learned", None))
        self.vocab_size, self.max_len = vocab_size, max_len
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        if positional == "sinusoidal":
            self.positional = SinusoidalPositionalEncoding(max_len, d_model)
        elif positional == "learned":
            self.positional = LearnedPositionalEmbedding(max_len, d_model)
        else:
            self.positional = None
        self.blocks = nn.ModuleList(
            TransformerBlock(
                d_model,
                n_heads,
                d_hidden,
                skip=skip,
                norm=norm,
                norm_position=norm_position,
                causal=causal,
                activation=activation,
            )
            for _ in range(n_layers)
        )
        self.final_norm = make_norm(norm if norm_position == "pre" else None, d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, idx):
        check_token_ids(idx, "idx", layout="(batch, seq)", ndim=2, max_len=self.max_len)  # shapes: reads no ids
        x = embed(self.token_embedding, idx, "idx")
        if self.positional is not None:
            x = x + self.positional(idx.shape[1])
        for block in self.blocks:
            x = block(x)
        return self.head(self.final_norm(x))

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())


__all__ = [
    "sinusoidal_positional_encoding",
    "SinusoidalPositionalEncoding",
    "LearnedPositionalEmbedding",
    "causal_mask",
    "attention",
    "split_heads",
    "merge_heads",
    "MultiHeadAttention",
    "MLP",
    "LayerNorm",
    "RMSNorm",
    "BatchNorm",
    "TransformerBlock",
    "TinyTransformer",
]
