import math

import pytest
import torch

import helpers
from helpers.data import CharCorpus
from helpers.language_model import (
    baseline_losses,
    bigram_counts,
    bits_per_char,
    evaluate,
    forward_with_cache,
    generate,
    tie_weights,
    train_language_model,
)

TEXT = "the cat sat on the mat. the dog sat on the log. " * 8


@pytest.fixture
def model():
    torch.manual_seed(0)
    return helpers.TinyTransformer(vocab_size=12, d_model=16, n_layers=1, n_heads=2, max_len=8)


def prompt_ids(n=3):
    return torch.arange(n) % 12


# ----------------------------------------------------------------------------- generate


def test_generate_returns_prompt_then_new_tokens(model):
    out = generate(model, prompt_ids(), 5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (8,) and out.dtype == torch.long
    assert torch.equal(out[:3], prompt_ids())
    assert out.min() >= 0 and out.max() < 12


def test_generate_is_deterministic_under_a_generator(model):
    a = generate(model, prompt_ids(), 20, temperature=1.5, generator=torch.Generator().manual_seed(7))
    b = generate(model, prompt_ids(), 20, temperature=1.5, generator=torch.Generator().manual_seed(7))
    c = generate(model, prompt_ids(), 20, temperature=1.5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)  # a different seed draws different text (20 draws at a high temperature)


def test_top_k_1_is_greedy_argmax(model):
    out = generate(model, prompt_ids(), 12, top_k=1, generator=torch.Generator().manual_seed(3))
    ids = prompt_ids()
    model.eval()
    with torch.no_grad():
        for _ in range(12):
            ids = torch.cat([ids, model(ids[-8:][None])[0, -1].argmax()[None]])
    assert torch.equal(out, ids)
    # Greedy does not depend on the seed or the temperature.
    other = generate(model, prompt_ids(), 12, temperature=3.0, top_k=1, generator=torch.Generator().manual_seed(9))
    assert torch.equal(out, other)


def test_top_k_only_samples_among_the_k_most_likely(model):
    model.eval()
    with torch.no_grad():
        top2 = model(prompt_ids()[None])[0, -1].topk(2).indices.tolist()
    seen = {
        generate(model, prompt_ids(), 1, top_k=2, generator=torch.Generator().manual_seed(s))[-1].item()
        for s in range(40)
    }
    assert seen <= set(top2)


def test_low_temperature_approaches_greedy(model):
    greedy = generate(model, prompt_ids(), 10, top_k=1)
    cold = generate(model, prompt_ids(), 10, temperature=1e-4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(greedy, cold)


def test_generate_crops_the_context_once_the_text_outgrows_max_len(model):
    out = generate(model, prompt_ids(8), 10, generator=torch.Generator().manual_seed(0))
    assert out.shape == (18,)


def test_generate_restores_training_mode_and_leaves_no_gradients(model):
    model.train()
    generate(model, prompt_ids(), 3)
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_prompt_longer_than_max_len_is_a_clear_error(model):
    with pytest.raises(ValueError, match=r"prompt has 9 tokens, longer than the model's max_len=8"):
        generate(model, prompt_ids(9), 1)


@pytest.mark.parametrize("temperature", [0, 0.0, -1.0])
def test_temperature_zero_or_negative_is_a_clear_error(model, temperature):
    with pytest.raises(ValueError, match=r"temperature must be a positive number.*top_k=1"):
        generate(model, prompt_ids(), 1, temperature=temperature)


@pytest.mark.parametrize("temperature", [float("nan"), float("inf"), "1", None, True])
def test_temperature_not_a_finite_number_is_a_clear_error(model, temperature):
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        generate(model, prompt_ids(), 1, temperature=temperature)


@pytest.mark.parametrize("top_k", [0, -1, 13, 2.0, "3", True])
def test_bad_top_k_is_a_clear_error(model, top_k):
    with pytest.raises(ValueError, match=r"top_k must be None or an int from 1 to vocab_size=12"):
        generate(model, prompt_ids(), 1, top_k=top_k)


@pytest.mark.parametrize(
    "prompt, error, message",
    [
        ([1, 2, 3], TypeError, "prompt must be a tensor of integer token ids"),
        (torch.tensor([1.0, 2.0]), TypeError, "prompt must be a tensor of integer token ids"),
        (torch.tensor([[1, 2]]), ValueError, r"expected shape \(seq,\), a 1-D tensor .* got shape \(1, 2\)"),
        (torch.tensor([], dtype=torch.long), ValueError, "at least one token"),
    ],
)
def test_bad_prompt_is_a_clear_error(model, prompt, error, message):
    with pytest.raises(error, match=message):
        generate(model, prompt, 1)


@pytest.mark.parametrize("max_new_tokens", [-1, 1.5, None])
def test_bad_max_new_tokens_is_a_clear_error(model, max_new_tokens):
    with pytest.raises(ValueError, match="max_new_tokens must be an int >= 0"):
        generate(model, prompt_ids(), max_new_tokens)


def test_zero_new_tokens_returns_the_prompt(model):
    assert torch.equal(generate(model, prompt_ids(), 0), prompt_ids())


def test_generate_with_batch_norm_uses_running_statistics(gen):
    # A single sequence in training mode would normalize over itself; eval mode makes it well defined.
    torch.manual_seed(0)
    model = helpers.TinyTransformer(vocab_size=12, d_model=16, n_layers=1, n_heads=2, max_len=8, norm="batch")
    out = generate(model, prompt_ids(1), 4, generator=gen)
    assert out.shape == (5,)


# ----------------------------------------------------------------------------- the KV cache


@pytest.mark.parametrize("positional", ["sinusoidal", "learned", None])
def test_forward_with_cache_equals_the_full_forward(positional):
    torch.manual_seed(0)
    model = helpers.TinyTransformer(vocab_size=12, d_model=16, n_layers=2, n_heads=2, max_len=10, positional=positional)
    ids = torch.randint(0, 12, (3, 10), generator=torch.Generator().manual_seed(1))
    cache = [{} for _ in model.blocks]
    with torch.no_grad():
        full = model(ids)
        # the prompt at once, then a chunk of 2 (the mask must be offset by the cached length), then one at a time
        parts = [forward_with_cache(model, ids[:, :4], cache), forward_with_cache(model, ids[:, 4:6], cache)]
        parts += [forward_with_cache(model, ids[:, t : t + 1], cache) for t in range(6, 10)]
    torch.testing.assert_close(torch.cat(parts, dim=1), full, atol=1e-5, rtol=0)
    assert all(kv["k"].shape == kv["v"].shape == (3, 2, 10, 8) for kv in cache)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_generate_with_the_cache_draws_the_same_tokens(seed, positional):
    torch.manual_seed(seed)
    model = helpers.TinyTransformer(vocab_size=12, d_model=16, n_layers=2, n_heads=2, max_len=32, positional=positional)
    runs = [
        generate(model, prompt_ids(), 25, temperature=1.3, top_k=8, generator=torch.Generator().manual_seed(seed),
                 use_cache=use_cache)
        for use_cache in (False, True)
    ]  # fmt: skip
    assert torch.equal(*runs)


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_generate_with_the_cache_past_max_len_rebuilds_it_and_draws_the_same_tokens(positional):
    # max_len=8: after 5 new tokens the window slides and every cached position is stale
    torch.manual_seed(0)
    model = helpers.TinyTransformer(vocab_size=12, d_model=16, n_layers=2, n_heads=2, max_len=8, positional=positional)
    runs = [
        generate(model, prompt_ids(), 30, generator=torch.Generator().manual_seed(0), use_cache=c)
        for c in (False, True)
    ]
    assert torch.equal(*runs) and runs[1].shape == (33,)


def test_a_stale_cache_would_give_other_logits(model):
    """Why generate rebuilds the cache past max_len: keeping the cache and feeding the new token at the last
    position gives other logits than the cropped window does (the kept tokens sat at other positions)."""
    ids = torch.randint(0, 12, (1, 9), generator=torch.Generator().manual_seed(2))
    cache = [{} for _ in model.blocks]
    with torch.no_grad():
        forward_with_cache(model, ids[:, :8], cache)
        for kv in cache:  # drop the oldest token to make room, as a naive cache would
            kv["k"], kv["v"] = kv["k"][:, :, 1:], kv["v"][:, :, 1:]
        stale = forward_with_cache(model, ids[:, 8:], cache)[0, -1]
        window = model(ids[:, 1:])[0, -1]
    assert (stale - window).abs().max() > 1e-3


def test_generate_with_the_cache_restores_training_mode(model):
    model.train()
    generate(model, prompt_ids(), 3, use_cache=True)
    assert model.training and all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("change", [{"norm_position": "post"}, {"skip": False}, {"causal": False}])
def test_generate_with_the_cache_refuses_a_model_it_cannot_cache(change):
    model = helpers.TinyTransformer(vocab_size=12, d_model=16, n_layers=1, n_heads=2, max_len=8, **change)
    with pytest.raises(ValueError, match="use_cache=True needs a GPT-like model"):
        generate(model, prompt_ids(), 1, use_cache=True)
    assert generate(model, prompt_ids(), 1).shape == (4,)  # without the cache it still writes


# ----------------------------------------------------------------------------- baselines


def test_bigram_counts():
    counts = bigram_counts(torch.tensor([0, 1, 0, 1, 2]), 3)
    assert counts.tolist() == [[0, 2, 0], [1, 0, 1], [0, 0, 0]]


def test_baselines_on_a_text_with_known_answers():
    # Train text alternates 0 1 0 1 ...: the bigram model is sure of the next token, the unigram is not.
    train = torch.tensor([0, 1] * 50)
    val = torch.tensor([0, 1] * 10)
    losses = baseline_losses(train, val, vocab_size=4, smoothing=1e-6)
    assert losses["uniform"] == pytest.approx(math.log(4))
    assert losses["unigram"] == pytest.approx(math.log(2), abs=1e-4)
    assert losses["bigram"] == pytest.approx(0.0, abs=1e-4)


def test_baselines_rank_on_the_corpus():
    train, val = CharCorpus(split="train"), CharCorpus(split="val")
    losses = baseline_losses(train.ids, val.ids, train.vocab_size)
    assert losses["uniform"] > losses["unigram"] > losses["bigram"] > 0


def test_unseen_pairs_cost_a_finite_loss_thanks_to_smoothing():
    losses = baseline_losses(torch.tensor([0, 1, 0, 1]), torch.tensor([2, 3]), vocab_size=4)
    assert all(math.isfinite(v) for v in losses.values())


@pytest.mark.parametrize("smoothing", [0, -1.0, None])
def test_bad_smoothing_is_a_clear_error(smoothing):
    with pytest.raises(ValueError, match="smoothing must be a number > 0"):
        baseline_losses(torch.tensor([0, 1]), torch.tensor([0, 1]), 2, smoothing=smoothing)


def test_baseline_ids_out_of_range_is_a_clear_error():
    with pytest.raises(ValueError, match=r"val_ids: token ids must be in \[0, 2\)"):
        baseline_losses(torch.tensor([0, 1]), torch.tensor([0, 5]), 2)


def test_bits_per_char():
    assert bits_per_char(math.log(2)) == pytest.approx(1.0)
    assert bits_per_char(math.log(8)) == pytest.approx(3.0)


# ----------------------------------------------------------------------------- training and evaluation


def tiny_corpora():
    return CharCorpus(TEXT, block_size=8, split="train"), CharCorpus(TEXT, block_size=8, split="val")


def test_evaluate_is_deterministic_and_restores_mode():
    train, val = tiny_corpora()
    torch.manual_seed(0)
    model = helpers.TinyTransformer(train.vocab_size, d_model=16, n_layers=1, n_heads=2, max_len=8)
    model.train()
    first, second = evaluate(model, val), evaluate(model, val)
    assert first == second and model.training
    assert first == pytest.approx(math.log(train.vocab_size), rel=0.3)  # an untrained model is near uniform


def test_train_language_model_learns_and_is_reproducible():
    train, val = tiny_corpora()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = helpers.TinyTransformer(train.vocab_size, d_model=16, n_layers=1, n_heads=2, max_len=8)
        runs.append(train_language_model(model, train, val, steps=20, lr=3e-2, eval_every=10, progress=False))
    a, b = runs
    assert a == b
    assert a["val_steps"] == [0, 10, 20] and len(a["val"]) == 3 and len(a["train"]) == 20
    assert a["val"][-1] < a["val"][0] - 0.5


def test_train_language_model_stops_when_the_loss_is_not_finite():
    train, val = tiny_corpora()
    torch.manual_seed(0)
    model = helpers.TinyTransformer(train.vocab_size, d_model=16, n_layers=1, n_heads=2, max_len=8)
    with torch.no_grad():
        model.head.bias.fill_(float("nan"))
    history = train_language_model(model, train, val, steps=10, progress=False)
    assert len(history["train"]) == 1 and math.isnan(history["train"][0])
    # the last validation entry is the divergence, not a finite number from before it
    assert history["val_steps"] == [0, 1] and math.isnan(history["val"][-1])


def test_train_language_model_makes_no_update_from_a_non_finite_loss():
    train, val = tiny_corpora()
    torch.manual_seed(0)
    model = helpers.TinyTransformer(train.vocab_size, d_model=16, n_layers=1, n_heads=2, max_len=8)
    with torch.no_grad():
        model.head.bias[0] = float("inf")  # every loss is then inf (or nan); the other parameters must not move
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    history = train_language_model(model, train, val, steps=5, progress=False)
    assert len(history["train"]) == 1 and not math.isfinite(history["train"][0])
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name]), name


def test_train_language_model_rejects_a_mismatched_vocabulary():
    train, val = tiny_corpora()
    model = helpers.TinyTransformer(train.vocab_size + 1, d_model=16, n_layers=1, n_heads=2, max_len=8)
    with pytest.raises(ValueError, match="vocab_size"):
        train_language_model(model, train, val, steps=1, progress=False)


# ----------------------------------------------------------------------------- weight tying


def test_tie_weights_shares_one_matrix_and_counts_the_saving(model):
    before = model.num_parameters()
    saved = tie_weights(model)
    assert saved == 12 * 16
    assert model.head.weight is model.token_embedding.weight
    assert model.num_parameters() == before - saved  # parameters() yields a shared tensor once
    assert tie_weights(model) == 0  # already tied


def test_tie_weights_needs_an_embedding_and_a_head():
    with pytest.raises(AttributeError, match="token_embedding"):
        tie_weights(torch.nn.Linear(2, 2))


class BareAttention(torch.nn.Module):
    """A learner's attention as notebook 08 builds it: in_proj, out_proj and n_heads, none of our methods."""

    def __init__(self, mha):
        super().__init__()
        self.in_proj, self.out_proj, self.n_heads = mha.in_proj, mha.out_proj, mha.n_heads


def test_forward_with_cache_runs_any_gpt_with_the_same_part_names(model):
    ids = torch.randint(0, 12, (2, 6), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = model(ids)
        for block in model.blocks:
            block.attn = BareAttention(block.attn)
        cache = [{} for _ in model.blocks]
        parts = [forward_with_cache(model, ids[:, :4], cache), forward_with_cache(model, ids[:, 4:5], cache)]
        parts.append(forward_with_cache(model, ids[:, 5:], cache))
    torch.testing.assert_close(torch.cat(parts, dim=1), expected, atol=1e-5, rtol=0)
