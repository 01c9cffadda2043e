"""The encoder–decoder of "Attention Is All You Need": cross-attention, the decoder block, the whole model.

Built from the parts in layers.py: the encoder is a stack of TransformerBlocks, the decoder adds
cross-attention (queries from the decoder, keys and values from the encoder's output, the "memory").
`Transformer` equals `torch.nn.Transformer(batch_first=True)` in eval mode (tests/test_encoder_decoder.py
proves it); `Seq2Seq` wraps it with embeddings, positions and an output head for a small task; `greedy_decode`
and `beam_search` generate with it.
Padding masks here are boolean, True where a position is padding, as torch's key_padding_mask.
Dropout (off by default) sits where the paper puts it (section 5.4): on each sublayer's output before the add,
and on the sum of embeddings and positions.
"""

import math

import torch
from torch import nn

from ._validate import (
    check_choice,
    check_input,
    check_positive_int,
    check_streams,
    check_token_ids,
    embed,
)
from .data import shift_right
from .layers import (
    MLP,
    LayerNorm,
    MultiHeadAttention,
    SinusoidalPositionalEncoding,
    TransformerBlock,
    skip_and_norm,
)
from .training import evaluating

# ----------------------------------------------------------------------------- cross-attention and the blocks


class CrossAttention(MultiHeadAttention):
    """Multi-head attention whose queries come from x and whose keys and values come from memory.

    forward(x (batch, seq_q, d_model), memory (batch, seq_k, d_model), mask=None) -> (batch, seq_q, d_model).
    The weights keep MultiHeadAttention's layout (one in_proj for q, k, v, as torch's in_proj_weight), so
    load_from_torch copies a decoder layer's `multihead_attn` unchanged; `self.weights` is (batch, heads, seq_q, seq_k).
    """

    def __init__(self, d_model, n_heads, bias=True):
        super().__init__(d_model, n_heads, bias=bias, causal=False)

    def forward(self, x, memory, mask=None):
        check_input(x, self)
        check_input(memory, self, name="memory")
        return self.attend(*self.project(x, memory), mask)


class EncoderBlock(TransformerBlock):
    """The encoder's block: a TransformerBlock (attention, MLP, skips, norms) with the paper's dropout on each
    sublayer's output, before it is added to the skip: norm(x + dropout(sublayer(x))) in post-norm."""

    def __init__(self, d_model, n_heads, d_hidden, norm_position="post", activation="relu", dropout=0.0):
        super().__init__(d_model, n_heads, d_hidden, norm_position=norm_position, activation=activation)
        self.dropout = nn.Dropout(dropout)

    def _sublayer(self, x, layer, norm):
        return super()._sublayer(x, lambda h: self.dropout(layer(h)), norm)


class DecoderBlock(nn.Module):
    """Masked self-attention, cross-attention to the memory, MLP: each with its skip, its norm and its dropout.

    post-norm (2017):  x = norm1(x + self_attn(x));  x = norm2(x + cross_attn(x, memory));  x = norm3(x + mlp(x))
    pre-norm (GPT-2):  x = x + self_attn(norm1(x));  x = x + cross_attn(norm2(x), memory); x = x + mlp(norm3(x))
    Setting `cross_attn = None` cuts the decoder off from the source (the notebook does, to show it is the bridge).
    """

    def __init__(self, d_model, n_heads, d_hidden=None, norm_position="post", activation="relu", dropout=0.0):
        super().__init__()
        check_choice(norm_position, "norm_position", ("pre", "post"))
        self.d_model, self.norm_position = d_model, norm_position
        self.self_attn = MultiHeadAttention(d_model, n_heads, causal=True)  # a position never sees the ones after it
        self.cross_attn = CrossAttention(d_model, n_heads)
        self.mlp = MLP(d_model, d_hidden, activation)
        self.norm1, self.norm2, self.norm3 = LayerNorm(d_model), LayerNorm(d_model), LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def _sublayer(self, x, layer, norm):
        return skip_and_norm(x, lambda h: self.dropout(layer(h)), norm, self.norm_position)

    def forward(self, x, memory, self_mask=None, memory_mask=None):
        x = self._sublayer(x, lambda h: self.self_attn(h, mask=self_mask), self.norm1)
        if self.cross_attn is not None:
            x = self._sublayer(x, lambda h: self.cross_attn(h, memory, mask=memory_mask), self.norm2)
        return self._sublayer(x, self.mlp, self.norm3)


# ----------------------------------------------------------------------------- the whole model


def _attend_mask(padding, self_attention):
    """Padding (batch, len_k), True = padding -> boolean mask (batch, 1, 1 or len_k, len_k), True = may attend.

    Every key that is not padding; None without padding. The head axis is 1, so one sequence's mask serves all
    its heads. In self-attention a padded query may also attend to itself, so that no row is empty (its output
    is never used), which keeps the real positions exactly as torch computes them.
    """
    if padding is None:
        return None
    allowed = ~padding[:, None, None, :]
    if self_attention:
        allowed = allowed | torch.eye(padding.shape[1], dtype=torch.bool, device=padding.device)
    return allowed


class Transformer(nn.Module):
    """The encoder–decoder core of Vaswani et al. 2017, without embeddings or output head.

    forward(src (batch, src_len, d_model), tgt (batch, tgt_len, d_model), src_padding=None, tgt_padding=None)
    -> (batch, tgt_len, d_model). The decoder's self-attention is always causal. Paddings are boolean
    (batch, len), True where a position is padding; src_padding also hides those positions from cross-attention.
    Like torch.nn.Transformer, each stack ends in a LayerNorm (encoder_norm, decoder_norm), also in post-norm.
    """

    def __init__(
        self,
        d_model,
        n_heads,
        n_encoder_layers,
        n_decoder_layers,
        d_hidden,
        norm_position="post",
        activation="relu",
        dropout=0.0,
    ):
        super().__init__()
        check_positive_int(n_encoder_layers, "n_encoder_layers")  # 0 would build a model that does nothing
        check_positive_int(n_decoder_layers, "n_decoder_layers")
        self.d_model, self.n_heads, self.norm_position, self.activation = d_model, n_heads, norm_position, activation
        sizes = (d_model, n_heads, d_hidden, norm_position, activation, dropout)
        self.encoder = nn.ModuleList(EncoderBlock(*sizes) for _ in range(n_encoder_layers))
        self.encoder_norm = LayerNorm(d_model)
        self.decoder = nn.ModuleList(DecoderBlock(*sizes) for _ in range(n_decoder_layers))
        self.decoder_norm = LayerNorm(d_model)

    def encode(self, src, src_padding=None):
        """The encoder stack: (batch, src_len, d_model) -> memory of the same shape."""
        check_streams(self.d_model, src, src_padding, all_padding_ok=False)
        mask = _attend_mask(src_padding, self_attention=True)
        for block in self.encoder:
            src = block(src, mask=mask)
        return self.encoder_norm(src)

    def decode(self, tgt, memory, src_padding=None, tgt_padding=None):
        """The decoder stack: tgt (batch, tgt_len, d_model) reads memory (batch, src_len, d_model), the same for
        every decoder block (the encoder's final output)."""
        check_streams(self.d_model, memory, src_padding, tgt, tgt_padding)
        self_mask = _attend_mask(tgt_padding, self_attention=True)
        memory_mask = _attend_mask(src_padding, self_attention=False)
        for block in self.decoder:
            tgt = block(tgt, memory, self_mask=self_mask, memory_mask=memory_mask)
        return self.decoder_norm(tgt)

    def forward(self, src, tgt, src_padding=None, tgt_padding=None):
        return self.decode(tgt, self.encode(src, src_padding), src_padding, tgt_padding)


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
    dropout (the paper: 0.1; here 0 by default) acts on the sum of embeddings and positions and on every
    sublayer's output before its add, in training mode only. (torch.nn.Transformer also drops attention weights
    and the MLP's hidden units; the paper names only these two places.)
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
        dropout=0.0,
    ):
        super().__init__()
        check_positive_int(vocab_size, "vocab_size")
        d_hidden = 4 * d_model if d_hidden is None else d_hidden
        self.vocab_size, self.d_model = vocab_size, d_model
        self.embedding = nn.Embedding(vocab_size, d_model)
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)  # times sqrt(d_model): unit scale, like the positions
        self.positional = SinusoidalPositionalEncoding(max_len, d_model)
        self.dropout = nn.Dropout(dropout)
        self.transformer = Transformer(
            d_model, n_heads, n_encoder_layers, n_decoder_layers, d_hidden, norm_position, activation, dropout
        )
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.embedding.weight  # shared: the paper's "same weight matrix"

    def embed(self, ids, name="ids"):
        check_token_ids(ids, name, layout=f"(batch, {name}_len)", ndim=2)  # shapes only: reads no ids
        return self.dropout(embed(self.embedding, ids, name) * math.sqrt(self.d_model) + self.positional(ids.shape[1]))

    def encode(self, src, src_padding=None):
        return self.transformer.encode(self.embed(src, "src"), src_padding)

    def decode(self, tgt, memory, src_padding=None, tgt_padding=None):
        return self.head(self.transformer.decode(self.embed(tgt, "tgt"), memory, src_padding, tgt_padding))

    def forward(self, src, tgt, src_padding=None, tgt_padding=None):
        return self.decode(tgt, self.encode(src, src_padding), src_padding, tgt_padding)

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())  # the shared matrix is counted once


class TeacherForcing(nn.Module):
    """Lets helpers.train drive a Seq2Seq: forward(pair) with pair (batch, 2, len) = (source, target shifted right).

    helpers.train passes one input tensor; a ReverseTask(teacher_forcing=True) batch stacks the source and the
    decoder's input in it.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pair):
        if not torch.is_tensor(pair) or pair.dim() != 3 or pair.shape[1] != 2:  # else pair[:, 1] is silently wrong
            raise ValueError(f"pair: expected shape (batch, 2, len), source and shifted target; got {pair!r:.50}")
        return self.model(pair[:, 0], pair[:, 1])


# ----------------------------------------------------------------------------- decoding


def greedy_decode(model, src, n_tokens, bos_id, src_padding=None):
    """Generate n_tokens per source, each the most likely next token given the ones before; (batch, n_tokens).

    The encoder runs once; the decoder runs once per new token on everything generated so far.
    """
    check_positive_int(n_tokens, "n_tokens")
    with evaluating(model):
        memory = model.encode(src, src_padding)
        out = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)
        for _ in range(n_tokens):
            logits = model.decode(out, memory, src_padding)
            out = torch.cat([out, logits[:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    return out[:, 1:]


def gnmt_length_penalty(length, alpha):
    """GNMT's length penalty (Wu et al. 2016, section 7): lp = ((5 + length) / 6) ** alpha.

    A beam's score is log P(Y | X) / lp(Y): with alpha > 0 a longer sequence is divided by more, which offsets
    the log-probability that every extra token costs. alpha = 0 ranks by log-probability alone.
    """
    return ((5 + length) / 6) ** alpha


def beam_search(model, src, beam_size=4, length_penalty=0.6, max_len=8, *, bos_id, eos_id=None, src_padding=None):
    """Keep the beam_size best partial targets at every step, instead of greedy decoding's one.

    The paper (section 6.1) decodes with beam_size=4 and length penalty alpha = 0.6 (`gnmt_length_penalty`).
    Returns (tokens (batch, beam_size, max_len), scores (batch, beam_size)), best first, all distinct: a score is
    log P(tokens | src) / gnmt_length_penalty(length, length_penalty). Without eos_id every hypothesis has
    max_len tokens, so the penalty divides them all alike and they rank by log-probability. With eos_id, a
    hypothesis that emits it leaves the beam for a pool of the beam_size best finished ones (its length counts
    the eos; padded with eos_id), so finished ones never take a live one's slot (as in tensor2tensor; fairseq and
    Hugging Face also keep them apart); after max_len steps the live ones compete with the pool.
    beam_size=1 without eos_id is greedy decoding; a beam_size that holds every live prefix finds what
    exhaustive search finds; a beam_size above the number of possible targets is refused.
    """
    check_positive_int(beam_size, "beam_size")
    check_positive_int(max_len, "max_len")
    with evaluating(model):
        batch, k, device = src.shape[0], beam_size, src.device
        memory = model.encode(src, src_padding).repeat_interleave(k, dim=0)  # one copy per hypothesis
        padding = None if src_padding is None else src_padding.repeat_interleave(k, dim=0)
        tokens = torch.full((batch * k, 1), bos_id, dtype=torch.long, device=device)  # the live hypotheses
        log_p = torch.full((batch, k), float("-inf"), device=device)
        log_p[:, 0] = 0.0  # one hypothesis to start from, BOS alone; the others are empty (-inf)
        finished = torch.full((batch, k, max_len), 0 if eos_id is None else eos_id, dtype=torch.long, device=device)
        finished_score = torch.full((batch, k), float("-inf"), device=device)
        for length in range(1, max_len + 1):
            step = model.decode(tokens, memory, padding)[:, -1].log_softmax(dim=-1).view(batch, k, -1)
            vocab = step.shape[-1]
            if length == 1:  # more rows than sequences would repeat some, or be empty ones scored -inf
                if eos_id is None:
                    n_sequences = vocab**max_len
                else:  # eos after n = 0 .. max_len - 1 other tokens, or never
                    n_sequences = sum((vocab - 1) ** n for n in range(max_len + 1))
                if k > n_sequences:
                    raise ValueError(
                        f"beam_size={k} is more than the {n_sequences:,} possible targets of up to "
                        f"max_len={max_len} tokens over a vocabulary of {vocab}"
                        f"{'' if eos_id is None else ' with eos'}: ask for at most that"
                    )
            total = log_p[..., None] + step  # (batch, k, vocab): every one-token extension of every hypothesis
            if eos_id is not None:  # every hypothesis that ends here joins the pool; the pool keeps its k best
                eos = torch.full((batch, k, max_len - length + 1), eos_id, dtype=torch.long, device=device)
                ended = torch.cat([tokens[:, 1:].view(batch, k, -1), eos], dim=-1)
                ended_score = total[..., eos_id] / gnmt_length_penalty(length, length_penalty)
                finished_score, best = torch.cat([finished_score, ended_score], dim=1).topk(k, dim=1)
                finished = torch.cat([finished, ended], dim=1).gather(1, best[..., None].expand(-1, -1, max_len))
                total[..., eos_id] = float("-inf")  # the live ones go on without it
            log_p, index = total.view(batch, -1).topk(k, dim=-1)  # the k best of the k * vocab extensions
            rows = (index // vocab + k * torch.arange(batch, device=device)[:, None]).view(-1)
            tokens = torch.cat([tokens[rows], (index % vocab).view(-1, 1)], dim=1)
    tokens, scores = tokens[:, 1:].view(batch, k, max_len), log_p / gnmt_length_penalty(max_len, length_penalty)
    if eos_id is None:
        return tokens, scores
    scores, best = torch.cat([finished_score, scores], dim=1).topk(k, dim=1)
    return torch.cat([finished, tokens], dim=1).gather(1, best[..., None].expand(-1, -1, max_len)), scores


def exact_match(model, task, batch_size=500, seed=1234):
    """Greedy-decode fresh sources of a ReverseTask(teacher_forcing=True); returns (fraction of whole sequences
    right, fraction of tokens right)."""
    src, tgt = task.sample(batch_size, torch.Generator().manual_seed(seed))
    device = next(model.parameters()).device
    right = greedy_decode(model, src.to(device), task.seq_len, task.bos).cpu() == tgt
    return right.all(dim=1).float().mean().item(), right.float().mean().item()


__all__ = [
    "CrossAttention",
    "EncoderBlock",
    "DecoderBlock",
    "Transformer",
    "torch_transformer",
    "Seq2Seq",
    "TeacherForcing",
    "shift_right",
    "greedy_decode",
    "gnmt_length_penalty",
    "beam_search",
    "exact_match",
]
