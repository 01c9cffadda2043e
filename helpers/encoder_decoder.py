"""The encoder–decoder of "Attention Is All You Need": cross-attention, the decoder block, the whole model.

Built from the parts in layers.py: the encoder is a stack of TransformerBlocks, the decoder adds
cross-attention (queries from the decoder, keys and values from the encoder's output, the "memory").
`Transformer` equals `torch.nn.Transformer(batch_first=True)` in eval mode (tests/test_encoder_decoder.py
proves it); `Seq2Seq` wraps it with embeddings, positions and an output head for a small task.
Padding masks here are boolean, True where a position is padding, as torch's key_padding_mask.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_choice, check_matches_parameters, check_positive_int, check_tensor, check_token_ids
from .layers import (
    MLP,
    LayerNorm,
    MultiHeadAttention,
    SinusoidalPositionalEncoding,
    TransformerBlock,
    attention,
    copy_mlp_from_torch,
    copy_norm_from_torch,
    torch_activation_name,
)

# ----------------------------------------------------------------------------- cross-attention and the decoder block


class CrossAttention(MultiHeadAttention):
    """Multi-head attention whose queries come from x and whose keys and values come from memory.

    forward(x (batch, seq_q, d_model), memory (batch, seq_k, d_model), mask=None) -> (batch, seq_q, d_model).
    The weights keep MultiHeadAttention's layout (one in_proj for q, k, v, as torch's in_proj_weight), so
    load_from_torch copies a decoder layer's `multihead_attn` unchanged; `self.weights` is (batch, heads, seq_q, seq_k).
    """

    def __init__(self, d_model, n_heads, bias=True):
        super().__init__(d_model, n_heads, bias=bias, causal=False)

    def forward(self, x, memory, mask=None):
        layout = f"(batch, seq, d_model={self.d_model})"
        check_tensor(x, "x", layout=layout, ndim=3, last_dim=self.d_model)
        check_tensor(memory, "memory", layout=layout, ndim=3, last_dim=self.d_model)
        check_matches_parameters(x, self)
        check_matches_parameters(memory, self, "memory")
        mask = self._per_head(mask)  # (batch, seq_q, seq_k): one mask per sequence, for all of its heads
        if memory.shape[0] != x.shape[0]:
            raise ValueError(
                f"x and memory must have the same batch size: x {tuple(x.shape)}, memory {tuple(memory.shape)}"
            )
        sizes = [self.d_model, 2 * self.d_model]  # torch's in_proj rows: W_q, then W_k and W_v
        w_q, w_kv = self.in_proj.weight.split(sizes)
        b_q, b_kv = (None, None) if self.in_proj.bias is None else self.in_proj.bias.split(sizes)
        q = F.linear(x, w_q, b_q)  # what each target position is looking for
        k, v = F.linear(memory, w_kv, b_kv).split(self.d_model, dim=-1)  # what each source position offers
        q, k, v = (t.view(t.shape[0], t.shape[1], self.n_heads, self.d_head).transpose(1, 2) for t in (q, k, v))
        out, weights = attention(q, k, v, mask=mask)
        self.weights = weights.detach()
        out = out.transpose(1, 2).reshape(x.shape[0], x.shape[1], self.d_model)
        return self.out_proj(out)


class DecoderBlock(nn.Module):
    """Masked self-attention, cross-attention to the memory, MLP: each with its skip and its norm.

    post-norm (2017):  x = norm1(x + self_attn(x));  x = norm2(x + cross_attn(x, memory));  x = norm3(x + mlp(x))
    pre-norm (GPT-2):  x = x + self_attn(norm1(x));  x = x + cross_attn(norm2(x), memory); x = x + mlp(norm3(x))
    Setting `cross_attn = None` cuts the decoder off from the source (the notebook does, to show it is the bridge).
    """

    def __init__(self, d_model, n_heads, d_hidden=None, norm_position="post", activation="relu"):
        super().__init__()
        check_choice(norm_position, "norm_position", ("pre", "post"))
        self.d_model, self.norm_position = d_model, norm_position
        self.self_attn = MultiHeadAttention(d_model, n_heads, causal=True)  # a position never sees the ones after it
        self.cross_attn = CrossAttention(d_model, n_heads)
        self.mlp = MLP(d_model, d_hidden, activation)
        self.norm1, self.norm2, self.norm3 = LayerNorm(d_model), LayerNorm(d_model), LayerNorm(d_model)

    def _sublayer(self, x, layer, norm):
        if self.norm_position == "pre":
            return x + layer(norm(x))
        return norm(x + layer(x))

    def forward(self, x, memory, self_mask=None, memory_mask=None):
        check_tensor(x, "x", layout=f"(batch, seq, d_model={self.d_model})", ndim=3, last_dim=self.d_model)
        x = self._sublayer(x, lambda h: self.self_attn(h, mask=self_mask), self.norm1)
        if self.cross_attn is not None:
            x = self._sublayer(x, lambda h: self.cross_attn(h, memory, mask=memory_mask), self.norm2)
        return self._sublayer(x, self.mlp, self.norm3)


# ----------------------------------------------------------------------------- the whole model


def _check_padding(padding, name, x, x_name):
    """padding: None or a boolean (batch, len) tensor matching x (batch, len, d_model)."""
    if padding is None:
        return
    expected = tuple(x.shape[:2])
    if not isinstance(padding, torch.Tensor):
        raise TypeError(
            f"{name} must be a boolean tensor of shape {expected} (batch, len), got {type(padding).__name__}"
        )
    if padding.dtype != torch.bool:
        raise TypeError(f"{name} must be a boolean tensor (True = padding), got dtype {padding.dtype}")
    if tuple(padding.shape) != expected:
        raise ValueError(
            f"{name} must have shape (batch, len) = {expected} to match {x_name} {tuple(x.shape)}, "
            f"got {tuple(padding.shape)}"
        )
    if padding.device != x.device:
        raise ValueError(f"{name} is on {padding.device} but {x_name} is on {x.device}; put them on one device")
    if padding.all(dim=1).any():
        row = int(padding.all(dim=1).nonzero()[0])
        raise ValueError(f"{name} marks every position of sequence {row} as padding: nothing is left to attend to")


def _key_mask(padding, seq_q):
    """(batch, 1, seq_q, seq_k) boolean mask, True = may attend: every key that is not padding.

    A padded query may also attend to itself, so that no row is empty (its output is never used), which
    keeps the non-padded positions exactly as torch computes them. The head axis is 1, so one sequence's
    mask applies to all of its heads.
    """
    seq_k = padding.shape[1]
    allowed = ~padding[:, None, None, :]
    if seq_q == seq_k:
        allowed = allowed | torch.eye(seq_q, dtype=torch.bool, device=padding.device)
    return allowed


class Transformer(nn.Module):
    """The encoder–decoder core of Vaswani et al. 2017, without embeddings or output head.

    forward(src (batch, src_len, d_model), tgt (batch, tgt_len, d_model), src_padding=None, tgt_padding=None)
    -> (batch, tgt_len, d_model). The decoder's self-attention is always causal. Paddings are boolean
    (batch, len), True where a position is padding; src_padding also hides those positions from cross-attention.
    Like torch.nn.Transformer, each stack ends in a LayerNorm (encoder_norm, decoder_norm), also in post-norm.
    """

    def __init__(
        self, d_model, n_heads, n_encoder_layers, n_decoder_layers, d_hidden, norm_position="post", activation="relu"
    ):
        super().__init__()
        for value, name in ((n_encoder_layers, "n_encoder_layers"), (n_decoder_layers, "n_decoder_layers")):
            check_positive_int(value, name)
        check_positive_int(d_hidden, "d_hidden")
        check_choice(norm_position, "norm_position", ("pre", "post"))
        self.d_model, self.n_heads, self.norm_position, self.activation = d_model, n_heads, norm_position, activation
        self.encoder = nn.ModuleList(
            TransformerBlock(d_model, n_heads, d_hidden, norm_position=norm_position, activation=activation)
            for _ in range(n_encoder_layers)
        )
        self.encoder_norm = LayerNorm(d_model)
        self.decoder = nn.ModuleList(
            DecoderBlock(d_model, n_heads, d_hidden, norm_position, activation) for _ in range(n_decoder_layers)
        )
        self.decoder_norm = LayerNorm(d_model)

    def _check(self, x, name):
        check_tensor(x, name, layout=f"(batch, {name}_len, d_model={self.d_model})", ndim=3, last_dim=self.d_model)

    def encode(self, src, src_padding=None):
        """The encoder stack: (batch, src_len, d_model) -> memory of the same shape."""
        self._check(src, "src")
        _check_padding(src_padding, "src_padding", src, "src")
        mask = None if src_padding is None else _key_mask(src_padding, src.shape[1])
        for block in self.encoder:
            src = block(src, mask=mask)
        return self.encoder_norm(src)

    def decode(self, tgt, memory, src_padding=None, tgt_padding=None):
        """The decoder stack: tgt (batch, tgt_len, d_model) reads memory (batch, src_len, d_model)."""
        self._check(tgt, "tgt")
        self._check(memory, "memory")
        if tgt.shape[0] != memory.shape[0]:
            raise ValueError(
                f"src and tgt must have the same batch size: memory/src has {memory.shape[0]} "
                f"(shape {tuple(memory.shape)}), tgt has {tgt.shape[0]} (shape {tuple(tgt.shape)})"
            )
        _check_padding(src_padding, "src_padding", memory, "src")
        _check_padding(tgt_padding, "tgt_padding", tgt, "tgt")
        self_mask = None if tgt_padding is None else _key_mask(tgt_padding, tgt.shape[1])
        memory_mask = None if src_padding is None else ~src_padding[:, None, None, :]
        for block in self.decoder:
            tgt = block(tgt, memory, self_mask=self_mask, memory_mask=memory_mask)
        return self.decoder_norm(tgt)

    def forward(self, src, tgt, src_padding=None, tgt_padding=None):
        self._check(src, "src")
        self._check(tgt, "tgt")
        if src.shape[0] != tgt.shape[0]:
            raise ValueError(
                f"src and tgt must have the same batch size: src {tuple(src.shape)}, tgt {tuple(tgt.shape)}"
            )
        memory = self.encode(src, src_padding)
        return self.decode(tgt, memory, src_padding, tgt_padding)

    @torch.no_grad()
    def load_from_torch(self, reference):
        """Copy the weights of a torch.nn.Transformer with the same sizes, batch_first=True and norm_first
        matching norm_position; returns self."""
        if not isinstance(reference, nn.Transformer):
            raise TypeError(f"expected a torch.nn.Transformer, got {type(reference).__name__}")
        if not reference.batch_first:
            raise ValueError("the torch model must be built with batch_first=True: ours takes (batch, seq, d_model)")
        enc, dec = reference.encoder.layers, reference.decoder.layers
        theirs = {
            "d_model": reference.d_model,
            "n_heads": reference.nhead,
            "n_encoder_layers": len(enc),
            "n_decoder_layers": len(dec),
            "d_hidden": enc[0].linear1.out_features,
            "norm_position": "pre" if enc[0].norm_first else "post",
            "activation": torch_activation_name(enc[0].activation),
        }
        ours = {
            "d_model": self.d_model,
            "n_heads": self.n_heads,
            "n_encoder_layers": len(self.encoder),
            "n_decoder_layers": len(self.decoder),
            "d_hidden": self.encoder[0].mlp.fc_in.out_features,
            "norm_position": self.norm_position,
            "activation": self.activation,
        }
        different = [f"{k}: ours {ours[k]!r}, torch's {theirs[k]!r}" for k in ours if ours[k] != theirs[k]]
        if different:
            raise ValueError("the torch model is built differently: " + "; ".join(different))
        if reference.encoder.norm is None or reference.decoder.norm is None:
            raise ValueError("the torch model has no final LayerNorm after its encoder or decoder stack; this one has")
        for block, layer in zip(self.encoder, enc, strict=True):
            block.load_from_torch(layer)
        for block, layer in zip(self.decoder, dec, strict=True):
            block.self_attn.load_from_torch(layer.self_attn)
            block.cross_attn.load_from_torch(layer.multihead_attn)
            copy_mlp_from_torch(block.mlp, layer)
            for i in (1, 2, 3):
                copy_norm_from_torch(getattr(block, f"norm{i}"), getattr(layer, f"norm{i}"))
        copy_norm_from_torch(self.encoder_norm, reference.encoder.norm)
        copy_norm_from_torch(self.decoder_norm, reference.decoder.norm)
        return self


def torch_transformer(
    d_model, n_heads, n_encoder_layers, n_decoder_layers, d_hidden, norm_position="post", activation="relu"
):
    """The torch.nn.Transformer that `Transformer` with the same arguments equals (batch_first, no dropout).

    It passes its own encoder built with enable_nested_tensor=False: torch's nested-tensor fast path does not
    support norm_first (nn.Transformer warns so on construction), and in post-norm under no_grad with a padding
    mask it runs, with a warning that nested tensors are a prototype. The numbers are the same either way.
    """
    check_choice(norm_position, "norm_position", ("pre", "post"))
    norm_first = norm_position == "pre"
    layer = nn.TransformerEncoderLayer(
        d_model, n_heads, d_hidden, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
    )
    encoder = nn.TransformerEncoder(layer, n_encoder_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
    return nn.Transformer(
        d_model,
        n_heads,
        n_encoder_layers,
        n_decoder_layers,
        d_hidden,
        dropout=0.0,
        activation=activation,
        custom_encoder=encoder,
        batch_first=True,
        norm_first=norm_first,
    )


# ----------------------------------------------------------------------------- a small sequence-to-sequence model


class Seq2Seq(nn.Module):
    """Token ids in, next-token logits out: embeddings + sinusoidal positions -> Transformer -> linear head.

    As in the paper (section 3.4) one embedding matrix serves the source, the target and the output head,
    and embeddings are multiplied by sqrt(d_model). forward(src (batch, src_len), tgt (batch, tgt_len) of
    token ids, src_padding=None, tgt_padding=None) -> logits (batch, tgt_len, vocab_size).
    """

    def __init__(
        self,
        vocab_size,
        d_model=64,
        n_heads=4,
        n_encoder_layers=2,
        n_decoder_layers=2,
        d_hidden=None,
        max_len=64,
        norm_position="post",
        activation="relu",
    ):
        super().__init__()
        check_positive_int(vocab_size, "vocab_size")
        check_positive_int(max_len, "max_len")
        d_hidden = 4 * d_model if d_hidden is None else d_hidden
        self.vocab_size, self.d_model, self.max_len = vocab_size, d_model, max_len
        self.embedding = nn.Embedding(vocab_size, d_model)
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)  # times sqrt(d_model): unit scale, like the positions
        self.positional = SinusoidalPositionalEncoding(max_len, d_model)
        self.transformer = Transformer(
            d_model, n_heads, n_encoder_layers, n_decoder_layers, d_hidden, norm_position, activation
        )
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.embedding.weight  # shared: the paper's "same weight matrix"

    def _check_ids(self, ids, name):
        check_token_ids(ids, name, layout=f"(batch, {name}_len)", ndim=2, vocab_size=self.vocab_size)
        if ids.shape[1] > self.max_len:
            raise ValueError(f"{name} has length {ids.shape[1]}, longer than max_len={self.max_len}")

    def embed(self, ids, name="ids"):
        self._check_ids(ids, name)
        return self.embedding(ids) * math.sqrt(self.d_model) + self.positional(ids.shape[1])

    def encode(self, src, src_padding=None):
        return self.transformer.encode(self.embed(src, "src"), src_padding)

    def decode(self, tgt, memory, src_padding=None, tgt_padding=None):
        return self.head(self.transformer.decode(self.embed(tgt, "tgt"), memory, src_padding, tgt_padding))

    def forward(self, src, tgt, src_padding=None, tgt_padding=None):
        memory = self.encode(src, src_padding)
        return self.decode(tgt, memory, src_padding, tgt_padding)

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())  # the shared matrix is counted once


class TeacherForcing(nn.Module):
    """Lets helpers.train drive a Seq2Seq: forward(pair) with pair (batch, 2, len) = (source, target shifted right).

    helpers.train passes one input tensor; a ReversalTask batch stacks the source and the decoder's input in it.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pair):
        if not isinstance(pair, torch.Tensor) or pair.dim() != 3 or pair.shape[1] != 2:
            got = tuple(pair.shape) if isinstance(pair, torch.Tensor) else type(pair).__name__
            raise ValueError(f"pair: expected shape (batch, 2, len), source and shifted target stacked; got {got}")
        return self.model(pair[:, 0], pair[:, 1])


def shift_right(targets, bos_id):
    """The decoder's input under teacher forcing: BOS, then the targets without their last token."""
    bos = torch.full_like(targets[:, :1], bos_id)
    return torch.cat([bos, targets[:, :-1]], dim=1)


@torch.no_grad()
def greedy_decode(model, src, n_tokens, bos_id, src_padding=None):
    """Generate n_tokens per source, each the most likely next token given the ones before; (batch, n_tokens).

    The encoder runs once; the decoder runs once per new token on everything generated so far.
    """
    check_positive_int(n_tokens, "n_tokens")
    was_training = model.training
    model.eval()
    memory = model.encode(src, src_padding)
    out = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)
    for _ in range(n_tokens):
        logits = model.decode(out, memory, src_padding)
        out = torch.cat([out, logits[:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    model.train(was_training)
    return out[:, 1:]


class ReversalTask:
    """Source: seq_len random symbols; target: the same symbols reversed. The decoder must read the source.

    Tokens: symbols 0..n_symbols-1, then BOS (starts the decoder's input) and PAD (fills short sequences).
    get_batch(batch_size, generator) -> (pair, y): pair (batch, 2, seq_len) stacks the source and the target
    shifted right (see TeacherForcing); y (batch, seq_len) is the target.
    """

    def __init__(self, n_symbols=10, seq_len=8):
        check_positive_int(n_symbols, "n_symbols")
        check_positive_int(seq_len, "seq_len")
        self.n_symbols, self.seq_len = n_symbols, seq_len
        self.bos, self.pad = n_symbols, n_symbols + 1
        self.vocab_size = n_symbols + 2

    def sample(self, batch_size, generator=None):
        """(source, target) token ids, each (batch, seq_len)."""
        check_positive_int(batch_size, "batch_size")
        src = torch.randint(0, self.n_symbols, (batch_size, self.seq_len), generator=generator)
        return src, src.flip(-1)

    def get_batch(self, batch_size, generator=None):
        src, tgt = self.sample(batch_size, generator)
        return torch.stack([src, shift_right(tgt, self.bos)], dim=1), tgt

    def exact_match(self, model, batch_size=500, seed=1234):
        """Greedy-decode fresh sources; returns (fraction of whole sequences right, fraction of tokens right)."""
        src, tgt = self.sample(batch_size, torch.Generator().manual_seed(seed))
        device = next(model.parameters()).device
        predicted = greedy_decode(model, src.to(device), self.seq_len, self.bos).cpu()
        right = predicted == tgt
        return right.all(dim=1).float().mean().item(), right.float().mean().item()


__all__ = [
    "CrossAttention",
    "DecoderBlock",
    "Transformer",
    "torch_transformer",
    "Seq2Seq",
    "TeacherForcing",
    "shift_right",
    "greedy_decode",
    "ReversalTask",
]
