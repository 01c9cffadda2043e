import runpy

import pytest
import torch

from helpers import data


def test_reverse_and_sort(gen):
    x, y = data.ReverseTask(10, 8).get_batch(4, gen)
    assert x.shape == y.shape == (4, 8) and x.dtype == torch.long
    assert torch.equal(y, x.flip(-1))
    x, y = data.SortTask(10, 8).get_batch(4, gen)
    assert torch.equal(y, x.sort(-1).values)


def test_which_first_has_one_a_and_one_b_and_the_right_answer(gen):
    task = data.WhichFirstTask(seq_len=10, n_fillers=4)
    x, y = task.get_batch(2000, gen)
    assert (x[:, 0] == task.QUERY).all() and (x[:, 1:] != task.QUERY).all()
    assert ((x == task.A).sum(1) == 1).all() and ((x == task.B).sum(1) == 1).all()
    a_first = (x == task.A).int().argmax(1) < (x == task.B).int().argmax(1)
    assert torch.equal(y[:, 0], torch.where(a_first, task.A, task.B))
    assert (y[:, 1:] == data.IGNORE).all()
    assert 0.45 < a_first.float().mean().item() < 0.55  # balanced: chance is 50 %
    assert x.max() < task.vocab_size


def test_same_generator_seed_same_batch():
    task = data.WhichFirstTask()
    a = task.get_batch(8, torch.Generator().manual_seed(1))
    b = task.get_batch(8, torch.Generator().manual_seed(1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_accuracy_of_a_perfect_and_a_blind_model():
    task = data.ReverseTask(5, 4)

    class Oracle(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.nn.functional.one_hot(x.flip(-1), 5).float()

    assert task.accuracy(Oracle()) == 1.0


def test_task_argument_errors():
    with pytest.raises(ValueError, match="seq_len must be an int >= 3"):
        data.WhichFirstTask(seq_len=2)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        data.ReverseTask().get_batch(0)


def test_char_tokenizer_round_trip_and_unknown_characters():
    tok = data.CharTokenizer("hello world")
    assert tok.vocab_size == len(set("hello world"))
    assert tok.decode(tok.encode("low")) == "low"
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['a', 'y', 'z'\]"):
        tok.encode("lazy")


def test_char_corpus_windows_are_shifted_by_one(gen):
    corpus = data.CharCorpus(block_size=16)
    x, y = corpus.get_batch(4, gen)
    assert x.shape == y.shape == (4, 16)
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert corpus.tokenizer.decode(x[0]) in data.load_corpus()
    val = data.CharCorpus(block_size=16, split="val")
    assert len(val.ids) < len(corpus.ids)


def test_shipped_corpus_is_what_the_generator_writes():
    make = runpy.run_path(str(data.DATA_DIR / "make_tiny_stories.py"))["make"]  # a script, run as one
    assert make() == data.load_corpus()
