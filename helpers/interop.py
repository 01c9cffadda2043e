"""Copy the weights of torch's own modules into ours, so that tests and notebooks can show both compute the same.

Kept out of the modules a learner reads (layers.py, encoder_decoder.py): `load_from_torch` is added to their
classes here, as d2l's `add_to_class` does, and `import helpers` loads this module. Each loader refuses a torch
module built differently from ours (biases, norm placement, activation, sizes), so the two never silently differ.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_instance
from .encoder_decoder import Transformer
from .layers import ACTIVATIONS, MultiHeadAttention, TransformerBlock


def check_same_build(ours, theirs, what="the torch layer"):
    """ours, theirs: {setting: value}; refuse any setting that differs, naming each."""
    different = [f"{k}: ours {ours[k]!r}, torch's {theirs[k]!r}" for k in ours if ours[k] != theirs[k]]
    if different:
        raise ValueError(f"{what} is built differently: " + "; ".join(different))


def check_torch_attention(mha, d_model, n_heads, bias):
    """A torch.nn.MultiheadAttention that computes what our MultiHeadAttention(d_model, n_heads, bias) computes:
    refuse other sizes, biases present in one and not the other, add_bias_kv, add_zero_attn, separate kdim/vdim."""
    check_instance(mha, nn.MultiheadAttention, "torch.nn.MultiheadAttention")
    in_bias, out_bias = mha.in_proj_bias is not None, mha.out_proj.bias is not None
    ours = {"embed_dim": d_model, "num_heads": n_heads, "kdim/vdim": (d_model, d_model), "bias": bias}
    theirs = {"embed_dim": mha.embed_dim, "num_heads": mha.num_heads, "kdim/vdim": (mha.kdim, mha.vdim)}
    theirs["bias"] = in_bias if in_bias == out_bias else "on one of in_proj and out_proj only"
    ours.update(add_bias_kv=False, add_zero_attn=False)  # each adds a key this layer does not have
    theirs.update(add_bias_kv=mha.bias_k is not None, add_zero_attn=mha.add_zero_attn)
    check_same_build(ours, theirs)


def torch_activation_name(activation):
    """Return "relu" or "gelu" for the activation of a torch.nn.TransformerEncoderLayer/DecoderLayer, else its repr."""
    for name, fn, module in (("relu", F.relu, nn.ReLU), ("gelu", F.gelu, nn.GELU)):
        exact = getattr(activation, "approximate", "none") == "none"  # torch's "gelu" is the exact, erf one
        if activation is fn or (isinstance(activation, module) and exact):
            return name
    return repr(activation)


def copy_mlp_from_torch(mlp, layer):
    """Copy a torch transformer layer's linear1/linear2 into our MLP's fc_in/fc_out."""
    mlp.fc_in.weight.copy_(layer.linear1.weight)
    mlp.fc_in.bias.copy_(layer.linear1.bias)
    mlp.fc_out.weight.copy_(layer.linear2.weight)
    mlp.fc_out.bias.copy_(layer.linear2.bias)


def copy_norm_from_torch(ours, theirs):
    """Copy a torch LayerNorm (with or without bias) into ours, eps included."""
    ours.eps = theirs.eps
    ours.weight.copy_(theirs.weight)
    ours.bias.copy_(theirs.bias if theirs.bias is not None else torch.zeros_like(ours.bias))


@torch.no_grad()
def load_attention(self, mha):
    """Copy the weights of a torch.nn.MultiheadAttention (same d_model and heads) into this layer; returns self.

    Refuses a torch layer that computes something this one cannot (biases present in one and not the
    other, add_bias_kv, add_zero_attn, separate kdim/vdim), so the two never silently differ.
    """
    check_torch_attention(mha, self.d_model, self.n_heads, bias=self.in_proj.bias is not None)
    self.in_proj.weight.copy_(mha.in_proj_weight)
    self.out_proj.weight.copy_(mha.out_proj.weight)
    if self.in_proj.bias is not None:
        self.in_proj.bias.copy_(mha.in_proj_bias)
        self.out_proj.bias.copy_(mha.out_proj.bias)
    return self


@torch.no_grad()
def load_block(self, layer):
    """Copy the weights of a torch.nn.TransformerEncoderLayer of the same sizes, activation and norm_first
    matching norm_position (torch has a counterpart only for a block with both sublayers, skips and layer
    norms); returns self."""
    check_instance(layer, nn.TransformerEncoderLayer, "torch.nn.TransformerEncoderLayer")
    ours = {
        "attention": self.attn is not None,
        "mlp": self.mlp is not None,
        "skip": self.skip,
        "norm": type(self.norm1).__name__,
        "norm_position": self.norm_position,
        "d_hidden": self.mlp and self.mlp.fc_in.out_features,
        "activation": self.mlp and next(k for k, v in ACTIVATIONS.items() if isinstance(self.mlp.act, v)),
    }
    theirs = {
        "attention": True,
        "mlp": True,
        "skip": True,
        "norm": "LayerNorm",
        "norm_position": "pre" if layer.norm_first else "post",
        "d_hidden": layer.linear1.out_features,
        "activation": torch_activation_name(layer.activation),
    }
    check_same_build(ours, theirs)
    self.attn.load_from_torch(layer.self_attn)  # checks d_model and the heads
    copy_mlp_from_torch(self.mlp, layer)
    copy_norm_from_torch(self.norm1, layer.norm1)
    copy_norm_from_torch(self.norm2, layer.norm2)
    return self


@torch.no_grad()
def load_transformer(self, reference):
    """Copy the weights of a torch.nn.Transformer with the same sizes, batch_first=True and norm_first
    matching norm_position; returns self. Each encoder block checks its sizes, norm placement and activation
    against torch's layer (load_block); here only what is the model's own."""
    check_instance(reference, nn.Transformer, "torch.nn.Transformer")
    enc, dec = reference.encoder.layers, reference.decoder.layers
    ours = {"batch_first": True, "n_encoder_layers": len(self.encoder), "n_decoder_layers": len(self.decoder)}
    theirs = {"batch_first": reference.batch_first, "n_encoder_layers": len(enc), "n_decoder_layers": len(dec)}
    ours["final LayerNorms"] = True  # ours takes (batch, seq, d_model) and ends each stack in a LayerNorm
    theirs["final LayerNorms"] = reference.encoder.norm is not None and reference.decoder.norm is not None
    check_same_build(ours, theirs, "the torch model")
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


MultiHeadAttention.load_from_torch = load_attention  # CrossAttention inherits it
TransformerBlock.load_from_torch = load_block
Transformer.load_from_torch = load_transformer

__all__ = ["load_attention", "load_block", "load_transformer", "torch_activation_name", "check_same_build"]
