"""Small data sets, all made by this code or shipped in data/: nothing is downloaded.

Every task has get_batch(batch_size, generator=None) -> (x, y) with x token ids (batch, seq) and
y the targets, -100 where a position is not scored (torch's cross-entropy ignore_index).
Batches are drawn on the CPU from the given torch.Generator, so they are the same on any device.
"""

import numbers
import pathlib

import torch

from ._validate import check_choice, check_fraction, check_positive_int
from .training import IGNORE, evaluating

DATA_DIR = pathlib.Path(__file__).resolve().parent.parent / "data"


class _Task:
    """Shared by the synthetic tasks: a seeded generator and the accuracy on scored positions."""

    def get_batch(self, batch_size, generator=None):
        check_positive_int(batch_size, "batch_size")
        return self._make(batch_size, generator)

    def accuracy(self, model, batch_size=512, seed=1234):
        """Fraction of scored positions where the model's top token is the target, on fresh data."""
        g = torch.Generator().manual_seed(seed)
        x, y = self.get_batch(batch_size, g)
        device = next(model.parameters(), torch.empty(0)).device  # a model without parameters runs on the CPU
        with evaluating(model):
            predicted = model(x.to(device)).argmax(dim=-1).cpu()
        scored = y != IGNORE
        return (predicted[scored] == y[scored]).float().mean().item()


def shift_right(targets, bos_id):
    """The decoder's input under teacher forcing: BOS, then the targets without their last token."""
    bos = torch.full_like(targets[:, :1], bos_id)
    return torch.cat([bos, targets[:, :-1]], dim=1)


class ReverseTask(_Task):
    """Source: seq_len random symbols; target: the same symbols reversed. Needs order: target position i
    must fetch source position seq_len - 1 - i.

    For a model that maps x to y position by position (notebooks 01-05), get_batch -> (x, y), vocab_size =
    n_symbols. For an encoder-decoder (notebook 06) pass teacher_forcing=True: the vocabulary adds BOS
    (starts the decoder's input, id n_symbols) and PAD (fills short sequences, id n_symbols + 1), and x is
    (batch, 2, seq_len), the source and the target shifted right stacked (see encoder_decoder.TeacherForcing).
    sample(batch_size, generator) -> (source, target) in both. `accuracy` scores the top token at every target
    position given the true ones before it; encoder_decoder.exact_match scores what greedy decoding generates.
    """

    def __init__(self, n_symbols=10, seq_len=8, teacher_forcing=False):
        check_positive_int(n_symbols, "n_symbols")
        check_positive_int(seq_len, "seq_len")
        self.n_symbols, self.seq_len, self.teacher_forcing = n_symbols, seq_len, teacher_forcing
        self.bos, self.pad = n_symbols, n_symbols + 1
        self.vocab_size = n_symbols + 2 if teacher_forcing else n_symbols

    def _target(self, x):
        return x.flip(-1)

    def sample(self, batch_size, generator=None):
        """(source, target) token ids, each (batch, seq_len)."""
        x, y = self.get_batch(batch_size, generator)
        return (x[:, 0] if self.teacher_forcing else x), y

    def _make(self, batch_size, generator):
        src = torch.randint(0, self.n_symbols, (batch_size, self.seq_len), generator=generator)
        tgt = self._target(src)
        if self.teacher_forcing:
            return torch.stack([src, shift_right(tgt, self.bos)], dim=1), tgt
        return src, tgt


class SortTask(ReverseTask):
    """Source: random symbols; target: the same symbols sorted ascending."""

    def _target(self, x):
        return x.sort(dim=-1).values


class WhichFirstTask(_Task):
    """Which of two marker tokens, A or B, comes first? Fillers elsewhere; the answer is read at position 0.

    Tokens: 0 = the query token placed at position 0, 1 = A, 2 = B, 3.. = fillers.
    y[:, 0] is 1 (A first) or 2 (B first), other positions are not scored. Chance is 50 %.
    The multiset of tokens is the same whichever comes first, so a model blind to order must guess.
    """

    QUERY, A, B = 0, 1, 2

    def __init__(self, seq_len=12, n_fillers=5):
        check_positive_int(n_fillers, "n_fillers")
        if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 3:
            raise ValueError(f"seq_len must be an int >= 3 (query, A and B), got {seq_len!r}")
        self.seq_len, self.vocab_size = seq_len, 3 + n_fillers

    def _make(self, batch_size, generator):
        x = torch.randint(3, self.vocab_size, (batch_size, self.seq_len), generator=generator)
        x[:, 0] = self.QUERY
        # Two distinct positions after the query token, in random order: the first gets A or B.
        slots = torch.rand(batch_size, self.seq_len - 1, generator=generator).argsort(dim=-1)[:, :2] + 1
        a_first = torch.rand(batch_size, generator=generator) < 0.5
        first, second = slots.min(dim=-1).values, slots.max(dim=-1).values
        rows = torch.arange(batch_size)
        x[rows, first] = torch.where(a_first, self.A, self.B)
        x[rows, second] = torch.where(a_first, self.B, self.A)
        y = torch.full_like(x, IGNORE)
        y[:, 0] = torch.where(a_first, self.A, self.B)
        return x, y


class CharTokenizer:
    """Characters to ids and back; the vocabulary is the sorted set of characters in the text."""

    def __init__(self, text):
        if not isinstance(text, str) or not text:
            got = f"{type(text).__name__} {text!r}"[:60]
            raise ValueError(f"CharTokenizer needs a non-empty string of text, got {got}")
        self.chars = sorted(set(text))
        self.vocab_size = len(self.chars)
        self._ids = {c: i for i, c in enumerate(self.chars)}

    def encode(self, text):
        unknown = sorted(set(text) - set(self._ids))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown!r}")
        return torch.tensor([self._ids[c] for c in text], dtype=torch.long)

    def decode(self, ids):
        """ids: a 1-D tensor or a list of ints in [0, vocab_size)."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        # One check for every wrong id (a float, a str, a row of a 2-D tensor, one out of range): a negative one
        # would silently index self.chars from the end.
        wrong = [
            i for i in ids if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < self.vocab_size
        ]
        if wrong:
            raise ValueError(f"ids must be ints in [0, {self.vocab_size}) in a list or 1-D tensor, got {wrong[:5]!r}")
        return "".join(self.chars[i] for i in ids)


def load_corpus(name="tiny_stories.txt"):
    """The text of a corpus shipped in data/ (see data/README.md for how it is made)."""
    path = DATA_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run `python data/make_tiny_stories.py` to regenerate it")
    return path.read_text(encoding="utf-8")


class CharCorpus(_Task):
    """Next-character prediction on a text: x is a random window, y the same window shifted by one."""

    def __init__(self, text=None, block_size=32, split="train", train_fraction=0.9):
        text = load_corpus() if text is None else text
        check_positive_int(block_size, "block_size")
        check_fraction(train_fraction, "train_fraction")  # 0 or 1 leave a split empty: refused below
        self.tokenizer = CharTokenizer(text)
        self.vocab_size, self.block_size = self.tokenizer.vocab_size, block_size
        ids = self.tokenizer.encode(text)
        cut = int(len(ids) * train_fraction)
        check_choice(split, "split", ("train", "val"))
        self.ids = ids[:cut] if split == "train" else ids[cut:]
        if len(self.ids) <= block_size:
            raise ValueError(f"the {split} text has {len(self.ids)} characters, too few for block_size={block_size}")

    def _make(self, batch_size, generator):
        starts = torch.randint(0, len(self.ids) - self.block_size, (batch_size,), generator=generator)
        window = torch.stack([self.ids[s : s + self.block_size + 1] for s in starts.tolist()])
        return window[:, :-1], window[:, 1:]
