"""The encoder–decoder equals torch.nn.Transformer; cross-attention, padding, decoding and bad input."""

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import helpers
from helpers import data
from helpers import encoder_decoder as ed

ATOL = 1e-5


def max_diff(a, b):
    return (a - b).abs().max().item()


def reference(
    d_model=16, n_heads=4, n_enc=2, n_dec=2, d_hidden=32, norm_position="post", activation="relu", plain=False
):
    """A torch.nn.Transformer in eval mode with non-default norm weights, so copying them is tested too.

    plain=True: the post-norm constructor as a learner would write it. Under no_grad with a padding mask its
    encoder takes torch's nested-tensor fast path, which warns (prototype API); torch_transformer turns it off.
    """
    torch.manual_seed(0)
    if plain:
        model = nn.Transformer(
            d_model, n_heads, n_enc, n_dec, d_hidden, dropout=0.0, activation=activation, batch_first=True
        )
    else:
        model = ed.torch_transformer(d_model, n_heads, n_enc, n_dec, d_hidden, norm_position, activation)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.normal_()
    return model.eval()


def torch_forward(model, src, tgt, src_padding=None, tgt_padding=None):
    # torch's masks say what may NOT be attended to: True = ignore, the opposite of ours.
    causal = ~helpers.causal_mask(tgt.shape[1])
    return model(
        src,
        tgt,
        tgt_mask=causal,
        tgt_is_causal=True,
        src_key_padding_mask=src_padding,
        tgt_key_padding_mask=tgt_padding,
        memory_key_padding_mask=src_padding,
    )


def padding(lengths, seq_len):
    """Right padding: True from each sequence's length on."""
    return torch.arange(seq_len)[None, :] >= torch.tensor(lengths)[:, None]


CASES = [
    # batch, src_len, tgt_len, src lengths, tgt lengths (None = unpadded)
    (3, 6, 5, None, None),
    (3, 6, 5, [6, 2, 4], [5, 3, 1]),
    (1, 4, 3, None, None),
    (1, 4, 3, [2], [2]),
    (2, 1, 1, None, None),
    (2, 5, 1, [5, 3], None),
]


@pytest.mark.parametrize("norm_position", ["post", "pre"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch, src_len, tgt_len, src_lengths, tgt_lengths", CASES)
def test_transformer_equals_torch(norm_position, activation, batch, src_len, tgt_len, src_lengths, tgt_lengths, gen):
    ref = reference(norm_position=norm_position, activation=activation, n_dec=3)
    ours = helpers.Transformer(16, 4, 2, 3, 32, norm_position, activation).load_from_torch(ref).eval()
    src = torch.randn(batch, src_len, 16, generator=gen)
    tgt = torch.randn(batch, tgt_len, 16, generator=gen)
    src_padding = None if src_lengths is None else padding(src_lengths, src_len)
    tgt_padding = None if tgt_lengths is None else padding(tgt_lengths, tgt_len)
    with torch.no_grad():
        expected = torch_forward(ref, src, tgt, src_padding, tgt_padding)
        out = ours(src, tgt, src_padding, tgt_padding)
    assert out.shape == (batch, tgt_len, 16)
    keep = torch.ones(batch, tgt_len, dtype=torch.bool) if tgt_padding is None else ~tgt_padding
    assert max_diff(out[keep], expected[keep]) < ATOL


def test_equals_the_plain_torch_constructor(gen):
    # With gradients on, torch's encoder takes its plain path (no nested tensors, no warning).
    ref = reference(plain=True)
    ours = helpers.Transformer(16, 4, 2, 2, 32).load_from_torch(ref).eval()
    src, tgt = torch.randn(2, 5, 16, generator=gen), torch.randn(2, 4, 16, generator=gen)
    sp, tp = padding([5, 3], 5), padding([4, 2], 4)
    keep = ~tp
    assert max_diff(ours(src, tgt, sp, tp)[keep], torch_forward(ref, src, tgt, sp, tp)[keep]) < ATOL


def test_structure_matches_torch_parameter_for_parameter():
    ours = helpers.Transformer(16, 4, 2, 3, 32)
    ref = nn.Transformer(16, 4, 2, 3, 32, batch_first=True)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    assert len(ours.encoder) == 2 and len(ours.decoder) == 3
    assert isinstance(ours.encoder_norm, helpers.LayerNorm) and isinstance(ours.decoder_norm, helpers.LayerNorm)


def test_decoder_is_causal(gen):
    model = helpers.Transformer(16, 4, 1, 2, 32).eval()
    src, tgt = torch.randn(1, 4, 16, generator=gen), torch.randn(1, 6, 16, generator=gen)
    changed = tgt.clone()
    changed[:, 3:] += 1.0
    with torch.no_grad():
        a, b = model(src, tgt), model(src, changed)
    assert max_diff(a[:, :3], b[:, :3]) < ATOL  # positions before the change cannot see it
    assert max_diff(a[:, 3:], b[:, 3:]) > 1e-3


def test_padding_mask_keeps_real_positions_unchanged(gen):
    model = helpers.Transformer(16, 4, 2, 2, 32).eval()
    src, tgt = torch.randn(1, 3, 16, generator=gen), torch.randn(1, 2, 16, generator=gen)
    padded_src = torch.cat([src, torch.randn(1, 4, 16, generator=gen)], dim=1)
    padded_tgt = torch.cat([tgt, torch.randn(1, 3, 16, generator=gen)], dim=1)
    with torch.no_grad():
        alone = model(src, tgt)
        masked = model(padded_src, padded_tgt, padding([3], 7), padding([2], 5))
        unmasked = model(padded_src, padded_tgt)
    assert max_diff(masked[:, :2], alone) < ATOL
    assert max_diff(unmasked[:, :2], alone) > 1e-2


def test_cross_attention_reads_memory_and_is_torch_multihead_attention(gen):
    mha = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    cross = ed.CrossAttention(16, 4).load_from_torch(mha)
    x, memory = torch.randn(2, 3, 16, generator=gen), torch.randn(2, 5, 16, generator=gen)
    expected, weights = mha(x, memory, memory, average_attn_weights=False)
    assert max_diff(cross(x, memory), expected) < ATOL
    assert cross.weights.shape == (2, 4, 3, 5) and max_diff(cross.weights, weights) < ATOL
    # A (batch, seq_q, seq_k) mask is per sequence, for all of its heads; True = may attend.
    blocked = torch.zeros(2, 3, 5, dtype=torch.bool)
    blocked[1, :, 3:] = True
    expected, _ = mha(x, memory, memory, attn_mask=blocked.repeat_interleave(4, dim=0))
    assert max_diff(cross(x, memory, mask=~blocked), expected) < ATOL
    assert (cross.weights[1, :, :, 3:] == 0).all() and (cross.weights[0] > 0).all()


def test_decoder_without_cross_attention_ignores_the_source(gen):
    model = helpers.Transformer(16, 4, 1, 2, 32).eval()
    for block in model.decoder:
        block.cross_attn = None
    tgt = torch.randn(1, 3, 16, generator=gen)
    with torch.no_grad():
        a = model(torch.randn(1, 4, 16, generator=gen), tgt)
        b = model(torch.randn(1, 4, 16, generator=gen), tgt)
    assert max_diff(a, b) == 0


@pytest.mark.parametrize(
    "src_shape, tgt_shape, message",
    [
        ((2, 5, 8), (2, 4, 16), r"src: expected shape \(batch, src_len, d_model\) with last dimension 16.*\(2, 5, 8\)"),
        (
            (2, 5, 16),
            (2, 4, 12),
            r"tgt: expected shape \(batch, tgt_len, d_model\) with last dimension 16.*\(2, 4, 12\)",
        ),
        ((2, 5, 16), (3, 4, 16), r"one batch size.*\(2, 5, 16\).*\(3, 4, 16\)"),
        ((5, 16), (2, 4, 16), r"src: expected shape .* \(2-D\)"),
    ],
)
def test_transformer_shape_errors(src_shape, tgt_shape, message):
    with pytest.raises(ValueError, match=message):
        helpers.Transformer(16, 4, 1, 1, 32)(torch.zeros(src_shape), torch.zeros(tgt_shape))


@pytest.mark.parametrize(
    "src_padding, tgt_padding, error, message",
    [
        (torch.zeros(2, 4, dtype=torch.bool), None, ValueError, r"src_padding must have shape.*\(2, 5\).*got \(2, 4\)"),
        (None, torch.zeros(2, 3, 1, dtype=torch.bool), ValueError, r"tgt_padding must have shape.*\(2, 3\)"),
        (torch.zeros(2, 5), None, TypeError, r"src_padding must be a boolean tensor.*torch.float32"),
        (None, torch.zeros(2, 3, dtype=torch.long), TypeError, r"tgt_padding must be a boolean tensor.*torch.int64"),
        ([[False] * 5] * 2, None, TypeError, r"src_padding must be a boolean tensor.*False"),
        (torch.ones(2, 5, dtype=torch.bool), None, ValueError, r"src_padding marks every position of sequence 0"),
    ],
)
def test_padding_errors(src_padding, tgt_padding, error, message):
    with pytest.raises(error, match=message):
        helpers.Transformer(16, 4, 1, 1, 32)(torch.zeros(2, 5, 16), torch.zeros(2, 3, 16), src_padding, tgt_padding)


def test_constructor_and_load_errors():
    with pytest.raises(ValueError, match="norm_position must be one of"):
        helpers.Transformer(16, 4, 1, 1, 32, norm_position="middle")
    with pytest.raises(ValueError, match="n_decoder_layers must be a positive int"):
        helpers.Transformer(16, 4, 1, 0, 32)
    with pytest.raises(ValueError, match="activation must be one of"):
        helpers.Transformer(16, 4, 1, 1, 32, activation="tanh")
    model = helpers.Transformer(16, 4, 2, 2, 32)
    with pytest.raises(TypeError, match="expected a torch.nn.Transformer, got Linear"):
        model.load_from_torch(nn.Linear(2, 2))
    with pytest.warns(UserWarning, match="batch_first was not True"):  # torch's own note on its fast path
        sequence_first = nn.Transformer(16, 4, 2, 2, 32)
    with pytest.raises(ValueError, match="batch_first: ours True, torch.s False"):
        model.load_from_torch(sequence_first)
    with pytest.raises(ValueError, match="n_decoder_layers: ours 2, torch's 3"):
        model.load_from_torch(reference(n_dec=3))
    with pytest.raises(ValueError, match="norm_position: ours 'post', torch's 'pre'"):
        model.load_from_torch(reference(norm_position="pre"))
    with pytest.raises(ValueError, match="activation: ours 'relu', torch's 'gelu'"):
        model.load_from_torch(reference(activation="gelu"))


def test_torch_transformer_builds_without_warnings():
    # pytest turns warnings into errors: building the pre-norm reference must not warn.
    model = ed.torch_transformer(8, 2, 1, 1, 16, norm_position="pre")
    assert model.encoder.layers[0].norm_first and model.decoder.layers[0].norm_first


# ----------------------------------------------------------------------------- the small model, the task, decoding


def test_seq2seq_shapes_and_shared_embedding():
    task = data.ReverseTask(n_symbols=5, seq_len=4, teacher_forcing=True)
    model = ed.Seq2Seq(task.vocab_size, d_model=16, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, max_len=8)
    pair, y = task.get_batch(3, torch.Generator().manual_seed(0))
    assert pair.shape == (3, 2, 4) and y.shape == (3, 4)
    assert (pair[:, 1, 0] == task.bos).all() and (pair[:, 1, 1:] == y[:, :-1]).all()
    assert (y == pair[:, 0].flip(-1)).all()
    assert ed.TeacherForcing(model)(pair).shape == (3, 4, task.vocab_size)
    assert model.head.weight is model.embedding.weight


def test_shift_right():
    assert ed.shift_right(torch.tensor([[3, 4, 5]]), 9).tolist() == [[9, 3, 4]]


def test_greedy_decode_equals_step_by_step_argmax(gen):
    torch.manual_seed(0)
    model = ed.Seq2Seq(7, d_model=16, n_heads=2, n_encoder_layers=1, n_decoder_layers=1).eval()
    src = torch.randint(0, 5, (2, 4), generator=gen)
    out = ed.greedy_decode(model, src, 3, bos_id=5)
    assert out.shape == (2, 3) and out.dtype == torch.long
    tgt = torch.full((2, 1), 5)
    with torch.no_grad():
        for _ in range(3):
            tgt = torch.cat([tgt, model(src, tgt)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(out, tgt[:, 1:])


def test_seq2seq_learns_reversal():
    task = data.ReverseTask(n_symbols=4, seq_len=4, teacher_forcing=True)
    torch.manual_seed(0)
    model = ed.Seq2Seq(task.vocab_size, d_model=32, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, max_len=8)
    losses = helpers.train(ed.TeacherForcing(model), task, steps=80, lr=3e-3, batch_size=64, progress=False)
    assert losses[-1] < 0.5 * losses[0]
    sequences, tokens = ed.exact_match(model, task, batch_size=100)
    assert tokens > 0.5


def test_seq2seq_errors():
    model = ed.Seq2Seq(6, d_model=8, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, max_len=4)
    with pytest.raises(TypeError, match="src must be a tensor of integer token ids"):
        model(torch.zeros(1, 3), torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"tgt: token ids must be in \[0, 6\)"):
        model(torch.zeros(1, 3, dtype=torch.long), torch.full((1, 2), 6))
    with pytest.raises(ValueError, match="longer than max_len=4"):
        model(torch.zeros(1, 5, dtype=torch.long), torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"pair: expected shape \(batch, 2, len\)"):
        ed.TeacherForcing(model)(torch.zeros(1, 3, 4, dtype=torch.long))


def test_reverse_task_with_teacher_forcing_draws_the_same_sources():
    plain, forced = data.ReverseTask(6, 5), data.ReverseTask(6, 5, teacher_forcing=True)
    x, y = plain.get_batch(4, torch.Generator().manual_seed(3))
    pair, y_forced = forced.get_batch(4, torch.Generator().manual_seed(3))
    assert torch.equal(pair[:, 0], x) and torch.equal(y_forced, y) and torch.equal(pair[:, 1], ed.shift_right(y, 6))
    assert (plain.vocab_size, forced.vocab_size, forced.bos, forced.pad) == (6, 8, 6, 7)
    src, tgt = forced.sample(4, torch.Generator().manual_seed(3))
    assert torch.equal(src, x) and torch.equal(tgt, y)


# ----------------------------------------------------------------------------- dropout


def small_seq2seq(**kwargs):
    torch.manual_seed(0)
    return ed.Seq2Seq(7, d_model=16, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, max_len=8, **kwargs)


def test_dropout_acts_in_training_mode_only(gen):
    model = small_seq2seq(dropout=0.1)
    src, tgt = torch.randint(0, 5, (2, 4), generator=gen), torch.randint(0, 5, (2, 3), generator=gen)
    model.eval()
    assert torch.equal(model(src, tgt), model(src, tgt))
    model.train()
    assert not torch.equal(model(src, tgt), model(src, tgt))
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 3 and all(m.p == 0.1 for m in dropouts)  # embeddings+positions, encoder, decoder block


def test_no_dropout_by_default_so_training_mode_changes_nothing(gen):
    model = small_seq2seq().train()
    src, tgt = torch.randint(0, 5, (2, 4), generator=gen), torch.randint(0, 5, (2, 3), generator=gen)
    assert torch.equal(model(src, tgt), model(src, tgt))


class Doubling(nn.Module):
    """Stands in for dropout with a known effect (times 2): the test then needs no random mask, and so does not
    depend on the order in which torch draws them."""

    def forward(self, h):
        return 2 * h


@pytest.mark.parametrize("norm_position", ["pre", "post"])
def test_dropout_sits_on_each_sublayer_output_before_the_add(norm_position, gen):
    x, memory = torch.randn(1, 3, 8, generator=gen), torch.randn(1, 4, 8, generator=gen)
    encoder = ed.EncoderBlock(8, 2, 16, norm_position=norm_position, dropout=0.5)
    decoder = ed.DecoderBlock(8, 2, 16, norm_position=norm_position, dropout=0.5)
    encoder.dropout = decoder.dropout = Doubling()

    def wired(x, sublayer, norm):  # the paper's placement: dropout on the sublayer's output, then the add
        return x + 2 * sublayer(norm(x)) if norm_position == "pre" else norm(x + 2 * sublayer(x))

    h = wired(x, encoder.attn, encoder.norm1)
    assert max_diff(encoder(x), wired(h, encoder.mlp, encoder.norm2)) < ATOL
    h = wired(x, decoder.self_attn, decoder.norm1)
    h = wired(h, lambda h: decoder.cross_attn(h, memory), decoder.norm2)
    assert max_diff(decoder(x, memory), wired(h, decoder.mlp, decoder.norm3)) < ATOL


# ----------------------------------------------------------------------------- beam search


class ToyModel(nn.Module):
    """A 'model' whose next-token log-probabilities depend only on the last token: table[last] (vocab 4).

    From BOS (3): token 0 with 0.6, token 1 with 0.4. After 0: tokens 0, 1, 2 with 1/3 each. After 1: token 2
    with 0.9. Greedy takes 0 then scores at best 0.6 * 1/3 = 0.2; beam search finds 1, 2 with 0.4 * 0.9 = 0.36.
    """

    def __init__(self):
        super().__init__()
        p = torch.tensor(
            [[1 / 3, 1 / 3, 1 / 3, 0.0], [0.05, 0.05, 0.9, 0.0], [0.25, 0.25, 0.25, 0.25], [0.6, 0.4, 0.0, 0.0]]
        )
        self.register_buffer("table", p.clamp_min(1e-9).log())

    def encode(self, src, src_padding=None):
        return src.float()[..., None]

    def decode(self, tgt, memory, src_padding=None):
        return self.table[tgt]


def test_beam_search_finds_what_greedy_misses():
    src = torch.zeros(1, 1, dtype=torch.long)
    greedy = ed.greedy_decode(ToyModel(), src, 2, bos_id=3)
    tokens, scores = ed.beam_search(ToyModel(), src, beam_size=2, length_penalty=0.0, max_len=2, bos_id=3)
    assert greedy[0, 0] == 0 and tokens[0, 0].tolist() == [1, 2]
    assert abs(scores[0, 0].exp().item() - 0.36) < 1e-5


def log_prob(model, src, tokens, bos_id):
    """log P(tokens | src) by teacher forcing, (batch,)."""
    with torch.no_grad():
        logits = model(src, ed.shift_right(tokens, bos_id))
    return logits.log_softmax(-1).gather(-1, tokens[..., None]).squeeze(-1).sum(-1)


@pytest.mark.parametrize("seed", [0, 1])
def test_beam_of_one_is_greedy_and_scores_are_sorted_log_probabilities(seed):
    torch.manual_seed(seed)
    model = ed.Seq2Seq(7, d_model=16, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, max_len=8).eval()
    src = torch.randint(0, 5, (3, 5), generator=torch.Generator().manual_seed(seed))
    tokens, scores = ed.beam_search(model, src, beam_size=1, max_len=5, bos_id=5)
    assert torch.equal(tokens[:, 0], ed.greedy_decode(model, src, 5, bos_id=5))
    tokens, scores = ed.beam_search(model, src, beam_size=4, length_penalty=0.6, max_len=5, bos_id=5)
    assert tokens.shape == (3, 4, 5) and scores.shape == (3, 4)
    assert (scores[:, 1:] <= scores[:, :-1]).all()  # best first
    for b in range(4):  # a score is the sequence's log-probability over the length penalty
        expected = log_prob(model, src, tokens[:, b], 5) / ed.gnmt_length_penalty(5, 0.6)
        assert max_diff(scores[:, b], expected) < 1e-4
    assert (scores[:, 0] * ed.gnmt_length_penalty(5, 0.6) >= log_prob(model, src, tokens[:, 0], 5) - 1e-4).all()


def test_beam_search_with_eos_stops_and_pads():
    torch.manual_seed(0)
    model = ed.Seq2Seq(7, d_model=16, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, max_len=8).eval()
    with torch.no_grad():
        model.head.weight[6] += 3.0  # make token 6 (our eos) likely, so hypotheses finish early
    src = torch.randint(0, 5, (2, 5), generator=torch.Generator().manual_seed(0))
    tokens, scores = ed.beam_search(model, src, beam_size=3, max_len=6, bos_id=5, eos_id=6)
    for row in tokens.view(-1, 6).tolist():
        if 6 in row:  # everything after the first eos is eos
            assert set(row[row.index(6) :]) == {6}
    assert (scores[:, 1:] <= scores[:, :-1]).all()


class TableModel(nn.Module):
    """Next-token probabilities that depend only on the source id and the last token: probs[source, last].

    probs has shape (sources, vocab + 1, vocab): row vocab is BOS, which the model never emits. A source is one
    id, (batch, 1); the 'memory' is that id, so beam search's copies per hypothesis carry it along.
    """

    def __init__(self, probs):
        super().__init__()
        self.register_buffer("table", probs.clamp_min(1e-12).log())
        self.bos = probs.shape[-1]

    def encode(self, src, src_padding=None):
        return src

    def decode(self, tgt, memory, src_padding=None):
        return self.table[memory[:, :1], tgt]


def exhaustive(model, source, max_len, alpha, eos_id=None):
    """Every possible target of one source with its score, best first: [(score, tokens)], by brute force.

    With eos_id a target stops at its first eos (counted in its length) and is padded with eos."""
    table, found = model.table[source].double(), {}
    for tokens in itertools.product(range(model.bos), repeat=max_len):
        if eos_id is not None and eos_id in tokens:
            end = tokens.index(eos_id) + 1
            tokens = tokens[:end] + (eos_id,) * (max_len - end)
        else:
            end = max_len
        steps = zip((model.bos, *tokens[: end - 1]), tokens[:end], strict=True)  # (last token, next token)
        log_p = sum(table[prev, tok].item() for prev, tok in steps)
        found[tokens] = log_p / ed.gnmt_length_penalty(end, alpha)
    return sorted(((score, tokens) for tokens, score in found.items()), reverse=True)


def test_beam_keeps_live_hypotheses_when_some_finish():
    """The issue's hand-built case: EOS (0) 0.4, A (1) 0.35, B (2) 0.25 after BOS; B -> C (3) surely, C -> EOS
    surely; A -> any of the 4 tokens. Beam 2, alpha = 2: EOS alone scores log 0.4 = -0.916, B C EOS scores
    log 0.25 / (8/6)^2 = -0.780. A beam whose finished EOS holds one of its two slots drops B at step 1."""
    probs = torch.zeros(1, 5, 4)
    probs[0, 4] = torch.tensor([0.4, 0.35, 0.25, 0.0])
    probs[0, 1] = 0.25
    probs[0, 2, 3] = probs[0, 3, 0] = probs[0, 0, 0] = 1.0
    model = TableModel(probs)
    best_score, best_tokens = exhaustive(model, 0, max_len=3, alpha=2.0, eos_id=0)[0]
    assert best_tokens == (2, 3, 0) and abs(best_score - math.log(0.25) / (8 / 6) ** 2) < 1e-6
    tokens, scores = ed.beam_search(
        model, torch.zeros(1, 1, dtype=torch.long), beam_size=2, length_penalty=2.0, max_len=3, bos_id=4, eos_id=0
    )
    assert tokens[0, 0].tolist() == [2, 3, 0] and abs(scores[0, 0].item() - best_score) < 1e-5
    assert tokens[0, 1].tolist() == [0, 0, 0] and abs(scores[0, 1].item() - math.log(0.4)) < 1e-5


SEARCH = settings(max_examples=40, deadline=None, derandomize=True)


@st.composite
def small_search(draw):
    """A random TableModel (2 sources, 2-4 tokens), max_len 1-3, alpha, with or without eos."""
    vocab, max_len = draw(st.integers(2, 4)), draw(st.integers(1, 3))
    eos_id = draw(st.one_of(st.none(), st.integers(0, vocab - 1)))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    probs = torch.rand(2, vocab + 1, vocab, generator=g) ** 3  # cubed: some tokens far likelier than others
    model = TableModel(probs / probs.sum(-1, keepdim=True))
    return model, max_len, draw(st.sampled_from([0.0, 0.6, 2.0])), eos_id


@SEARCH
@given(case=small_search(), data=st.data())
def test_beam_matches_exhaustive_search_small_vocab_with_and_without_eos(case, data):
    """A beam wide enough to hold every live prefix (every target of max_len - 1 tokens without eos) returns the
    beam_size best targets of exhaustive search, with their scores; the old beam, whose finished hypotheses
    took slots, needed room for those too."""
    model, max_len, alpha, eos_id = case
    live_vocab = model.bos - (eos_id is not None)
    n_targets = len(exhaustive(model, 0, max_len, alpha, eos_id))
    k = data.draw(st.integers(min(live_vocab ** (max_len - 1), n_targets), n_targets), label="beam_size")
    tokens, scores = ed.beam_search(model, torch.tensor([[0], [1]]), k, alpha, max_len, bos_id=model.bos, eos_id=eos_id)
    for source in (0, 1):
        best = exhaustive(model, source, max_len, alpha, eos_id)[:k]
        assert max(abs(s - b[0]) for s, b in zip(scores[source].tolist(), best, strict=True)) < 1e-4
        true_score = dict((t, s) for s, t in exhaustive(model, source, max_len, alpha, eos_id))
        rows = [tuple(row) for row in tokens[source].tolist()]
        assert len(set(rows)) == k  # distinct targets, each with its own score
        assert all(abs(true_score[row] - s) < 1e-4 for row, s in zip(rows, scores[source].tolist(), strict=True))


@pytest.mark.parametrize("eos_id", [None, 0])
@pytest.mark.parametrize("alpha", [0.6, 2.0])
def test_beam_matches_exhaustive_search_on_a_tiny_model(eos_id, alpha):
    """The same on a Seq2Seq (4 tokens, BOS = 3 among them, 3 steps): brute force scores all 64 token sequences
    by teacher forcing, each cut at its first eos; the beam holds every live prefix (16, or 9 with eos)."""
    torch.manual_seed(0)
    model = ed.Seq2Seq(4, d_model=8, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, max_len=8).eval()
    with torch.no_grad():
        model.head.weight[0] += 1.0  # token 0 likelier, so that with eos many hypotheses finish early
    src = torch.randint(0, 3, (2, 4), generator=torch.Generator().manual_seed(1))
    k = 16 if eos_id is None else 9
    tokens, scores = ed.beam_search(model, src, k, alpha, 3, bos_id=3, eos_id=eos_id)
    every = torch.tensor(list(itertools.product(range(4), repeat=3)))
    for b in range(2):
        with torch.no_grad():
            logits = model(src[b].expand(len(every), -1), ed.shift_right(every, 3))
        step_log_p = logits.log_softmax(-1).gather(-1, every[..., None]).squeeze(-1)
        found = {}
        for row, log_p in zip(every.tolist(), step_log_p, strict=True):
            end = row.index(eos_id) + 1 if eos_id in row else 3
            found[tuple(row[:end] + [eos_id] * (3 - end))] = log_p[:end].sum().item() / ed.gnmt_length_penalty(
                end, alpha
            )
        best = sorted(found.items(), key=lambda item: -item[1])[:k]
        assert max(abs(s - want) for s, (_, want) in zip(scores[b].tolist(), best, strict=True)) < 1e-4
        assert all(
            abs(found[tuple(row)] - s) < 1e-4 for row, s in zip(tokens[b].tolist(), scores[b].tolist(), strict=True)
        )


@SEARCH
@given(case=small_search())
def test_beam_of_one_is_greedy_decoding(case):
    model, max_len, alpha, _ = case
    src = torch.tensor([[0], [1]])
    tokens, _ = ed.beam_search(model, src, 1, alpha, max_len, bos_id=model.bos)
    assert torch.equal(tokens[:, 0], ed.greedy_decode(model, src, max_len, bos_id=model.bos))


@pytest.mark.parametrize(("eos_id", "n_targets"), [(None, 3**2), (0, 1 + 2 + 2**2)])
def test_beam_larger_than_the_search_space_is_refused(eos_id, n_targets):
    """3 tokens, 2 steps: 9 targets without eos; with eos: eos alone, 2 of the form x eos, 4 of the form x y."""
    model = TableModel(torch.full((1, 4, 3), 1 / 3))
    src = torch.zeros(1, 1, dtype=torch.long)
    tokens, scores = ed.beam_search(model, src, n_targets, 0.0, 2, bos_id=3, eos_id=eos_id)
    assert len({tuple(row) for row in tokens[0].tolist()}) == n_targets and scores.isfinite().all()
    with pytest.raises(ValueError, match=f"beam_size={n_targets + 1} is more than the {n_targets} possible"):
        ed.beam_search(model, src, n_targets + 1, 0.0, 2, bos_id=3, eos_id=eos_id)


def test_beam_search_errors():
    model = small_seq2seq()
    with pytest.raises(ValueError, match="beam_size must be a positive int"):
        ed.beam_search(model, torch.zeros(1, 3, dtype=torch.long), beam_size=0, bos_id=5)
    with pytest.raises(TypeError, match="max_len must be an int"):
        ed.beam_search(model, torch.zeros(1, 3, dtype=torch.long), max_len=2.0, bos_id=5)
