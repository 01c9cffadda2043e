"""The learners' cheat sheet: one printable page (HTML with print CSS) of the shapes, the mask convention and the
formulas of the workshop, every figure computed from helpers when it is built.

    python -m tools.cheatsheet [--out slides/cheatsheet.html]

The shapes are those of 07's small GPT (helpers.TinyTransformer) on a batch, recorded with forward hooks; the mask is
helpers.causal_mask; each formula is shown as maths and as the one line of torch that tests/test_cheatsheet.py
checks against helpers; the parameter count is the closed form, checked against num_parameters(). Print it from a
browser (one A4 or Letter page), or open it beside the notebooks.
"""

import argparse
import html
import inspect
import math
import pathlib
import sys

import torch

import helpers

ROOT = pathlib.Path(__file__).resolve().parent.parent
# 07's model (notebooks/07_small_gpt.ipynb), with its corpus's vocabulary, on a small batch.
CONFIG = {"d_model": 64, "n_layers": 2, "n_heads": 4, "max_len": 64}
BATCH, SEQ = 2, 8


# The formulas as plain torch, shown on the page as written here (inspect.getsource): tests/test_cheatsheet.py checks
# each against helpers. x: (..., d); q, k: (..., T, d_k); v: (..., T, d_v); mask: bool, True = may attend.
def attention(q, k, v, mask):
    return torch.softmax((q @ k.mT / math.sqrt(k.shape[-1])).masked_fill(~mask, -math.inf), dim=-1) @ v


def layer_norm(x, gamma, beta, eps=1e-5):
    return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + eps) * gamma + beta


def pre_norm_block(x, attn, mlp, norm1, norm2):
    x = x + attn(norm1(x))
    return x + mlp(norm2(x))


def gpt_parameters(vocab, d, layers):
    block = 12 * d * d + 13 * d  # attention 4d² + 4d, MLP 8d² + 5d, two layer norms 4d
    return vocab * d + layers * block + 2 * d + d * vocab + vocab  # embedding, blocks, final norm, head


FORMULAS = [
    ("Attention", "softmax(QKᵀ / √d<sub>k</sub> + M) V,&ensp;M = 0 where the mask is True, −∞ where False", attention),
    ("Layer norm", "(x − μ) / √(σ² + ε) · γ + β,&ensp;μ, σ² over one token's d features (σ² biased)", layer_norm),
    ("Pre-norm block (GPT-2)", "x ← x + MHA(LN₁(x));&ensp;x ← x + MLP(LN₂(x))", pre_norm_block),
    ("GPT parameters", "2Vd + V + L(12d² + 13d) + 2d (sinusoidal positions: none learned)", gpt_parameters),
]


def model():
    vocab = helpers.data.CharCorpus(block_size=CONFIG["max_len"]).vocab_size
    torch.manual_seed(0)
    return helpers.TinyTransformer(vocab, **CONFIG)


def shapes(gpt):
    """[(what, shape as symbols, shape measured)] through the model and its first block, by forward hooks."""
    d, h, vocab = CONFIG["d_model"], CONFIG["n_heads"], gpt.vocab_size
    seen = {}
    block = gpt.blocks[0]
    hooks = [
        (gpt.token_embedding, "embedding"),
        (block.norm1, "norm"),
        (block.attn.in_proj, "qkv"),
        (block.attn.out_proj, "attn"),
        (block.mlp.fc_in, "hidden"),
        (block, "block"),
        (gpt.head, "logits"),
    ]

    def record(key):
        def hook(_module, _inputs, out):
            seen[key] = tuple(out.shape)  # returns None: the output is left as it is

        return hook

    handles = [module.register_forward_hook(record(key)) for module, key in hooks]
    ids = torch.randint(vocab, (BATCH, SEQ))
    with torch.no_grad():
        gpt(ids)
    for handle in handles:
        handle.remove()
    per_head = helpers.layers.split_heads(torch.zeros(seen["embedding"]), h).shape
    rows = [
        ("token ids", "(B, T)", tuple(ids.shape)),
        ("token embedding + positions", "(B, T, d)", seen["embedding"]),
        ("LN₁(x): each token on its own", "(B, T, d)", seen["norm"]),
        ("Q, K, V together (one matrix)", "(B, T, 3d)", seen["qkv"]),
        ("Q, K, V split into heads", "(B, h, T, d/h)", tuple(per_head)),
        ("attention weights, per head", "(B, h, T, T)", tuple(block.attn.weights.shape)),
        ("heads merged, out_proj", "(B, T, d)", seen["attn"]),
        ("MLP hidden layer", "(B, T, 4d)", seen["hidden"]),
        ("block output", "(B, T, d)", seen["block"]),
        ("logits", "(B, T, V)", seen["logits"]),
    ]
    symbols = {"B": BATCH, "T": SEQ, "d": d, "h": h, "V": vocab}
    return rows, symbols


def mask_grid(n=5):
    mask = helpers.causal_mask(n)
    cells = "".join(
        "<tr>" + "".join(f"<td>{'✓' if allowed else '·'}</td>" for allowed in row) + "</tr>" for row in mask.tolist()
    )
    return f'<table class="mask"><caption>causal_mask({n}): row = query i, column = key j</caption>{cells}</table>'


STYLE = """
body { font: 10pt/1.35 system-ui, sans-serif; max-width: 190mm; margin: 8mm auto; color: #111; }
h1 { font-size: 15pt; margin: 0 0 4pt; } h2 { font-size: 11pt; margin: 8pt 0 3pt; border-bottom: 1px solid #999; }
table { border-collapse: collapse; } td, th { padding: 1pt 6pt; text-align: left; vertical-align: top; }
.shapes td:nth-child(n+2) { font-family: ui-monospace, monospace; white-space: nowrap; }
.mask td { font-family: monospace; padding: 0 4pt; text-align: center; }
.mask caption { font-size: 8.5pt; white-space: nowrap; text-align: left; }
pre { font-size: 8pt; background: #f4f4f4; padding: 3pt 5pt; margin: 2pt 0 5pt; white-space: pre-wrap; }
.columns { display: grid; grid-template-columns: 1.15fr 1fr; gap: 10pt; } .small { font-size: 8.5pt; color: #444; }
@page { size: A4; margin: 10mm; }
@media print { body { margin: 0; max-width: none; } pre { background: none; border-left: 2px solid #999; } }
"""


def build():
    gpt = model()
    rows, symbols = shapes(gpt)
    sizes = ", ".join(f"{k} = {v}" for k, v in symbols.items())
    shape_rows = "".join(
        f"<tr><td>{html.escape(what)}</td><td>{sym}</td><td>{measured}</td></tr>" for what, sym, measured in rows
    )
    formulas = "".join(
        f"<h2>{name}</h2><div>{maths}</div><pre>{html.escape(inspect.getsource(fn).strip())}</pre>"
        for name, maths, fn in FORMULAS
    )
    count = gpt_parameters(gpt.vocab_size, CONFIG["d_model"], CONFIG["n_layers"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Transformer Fundamentals: cheat sheet</title>
<style>{STYLE}</style></head><body>
<h1>Transformer Fundamentals: cheat sheet</h1>
<div class="columns"><div>
<h2>Shapes through 07's small GPT (pre-norm)</h2>
<table class="shapes"><tr><th>step</th><th>shape</th><th>here</th></tr>{shape_rows}</table>
<p class="small">B batch, T tokens, d = d_model, h heads (each d/h features), V vocabulary. Here: {sizes},
{CONFIG["n_layers"]} blocks. Every step keeps (B, T, d) except inside attention and the MLP.</p>
<h2>The mask: True = may attend</h2>
{mask_grid()}
<p class="small">helpers (and <code>F.scaled_dot_product_attention</code>) take True where a query may look at a
key; <code>nn.MultiheadAttention</code>'s <code>attn_mask</code> takes True where it may <b>not</b>. Masking happens
before the softmax (−∞ scores get weight 0).</p>
<h2>This GPT's parameters</h2>
<p><b>{count:,}</b> = 2·{symbols["V"]}·{symbols["d"]} + {symbols["V"]} + {CONFIG["n_layers"]}·(12·{symbols["d"]}² +
13·{symbols["d"]}) + 2·{symbols["d"]}: embedding and head V·d each, per block 12d² + 13d (attention 4d² + 4d, MLP
8d² + 5d, two layer norms 4d), final norm 2d, head bias V.</p>
</div><div>{formulas}</div></div>
<p class="small">Built by <code>python -m tools.cheatsheet</code> from helpers; tests/test_cheatsheet.py checks every
shape, formula and count on this page against helpers.</p>
</body></html>
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "slides" / "cheatsheet.html")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(build(), encoding="utf-8")
    print(f"wrote {args.out} (print it from a browser: one page)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
