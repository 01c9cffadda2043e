"""Transformer Fundamentals: the shared code every notebook imports.

layers       the parts of a transformer (positions, attention, MLP, norms, block, tiny model)
activations  record and summarise what each layer outputs, and gradient norms
plotting     every figure in one style
diagram      the series' picture of the architecture, any box highlighted
training     a tiny training loop with a progress bar, and one that trains several seeds side by side
data         small tasks and a tiny corpus, nothing downloaded
language_model  sample text, count-based baselines, training with a validation curve
checks       exercise checkers
explore      live controls over the lessons' experiments (ipywidgets), each drawn first as a still figure
encoder_decoder  cross-attention, the decoder block, the whole encoder-decoder Transformer, a small seq2seq model
interop      load_from_torch: copy torch's weights into our layers, to show both compute the same
setup        seeds, device, environment report
"""

from . import (
    activations,
    checks,
    data,
    diagram,
    encoder_decoder,
    explore,
    interop,
    language_model,
    layers,
    plotting,
    setup,
    training,
)
from .encoder_decoder import Transformer, beam_search
from .language_model import generate
from .layers import (
    MLP,
    BatchNorm,
    LayerNorm,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    RMSNorm,
    SinusoidalPositionalEncoding,
    TinyTransformer,
    TransformerBlock,
    attention,
    causal_mask,
    sinusoidal_positional_encoding,
)
from .setup import describe_environment, get_device, seed_everything, setup_notebook
from .training import train, train_seeds

# The one place that names the repository: the Colab badges and the setup cell's clone URL follow it
# (tests/test_notebooks_meta.py checks that they do). A fork changes this line and runs
# `python tools/set_repository.py`.
REPOSITORY = "transformer-fundamentals/transformer-fundamentals"
BRANCH = "main"

__all__ = [
    "activations",
    "checks",
    "data",
    "diagram",
    "layers",
    "plotting",
    "setup",
    "training",
    "encoder_decoder",
    "explore",
    "interop",
    "Transformer",
    "beam_search",
    "language_model",
    "MLP",
    "BatchNorm",
    "LayerNorm",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "RMSNorm",
    "SinusoidalPositionalEncoding",
    "TinyTransformer",
    "TransformerBlock",
    "attention",
    "causal_mask",
    "sinusoidal_positional_encoding",
    "describe_environment",
    "get_device",
    "seed_everything",
    "setup_notebook",
    "train",
    "train_seeds",
    "generate",
    "REPOSITORY",
    "BRANCH",
]
