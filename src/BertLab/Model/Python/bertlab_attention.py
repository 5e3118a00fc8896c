"""BertLab's attention mechanisms in PyTorch alone (no transformers): O = Scale(Mask(Act(Sim(Q', K'))) . V').

Written by BertLab next to a model whose attention is not softmax; modeling_bertlab.py puts BertLabSelfAttention in
place of transformers' BertSelfAttention. The "attention" section of config.json selects the mechanism: similarity,
activation, scaling and normalize (the names of the tables below, which BertLab generates from its attention registry,
one function per entry). Masking: padded keys contribute nothing, padded query rows output 0 (BERT's own softmax
computes them, as Hugging Face does), n counts the real tokens of each sequence. This is the explicit (quadratic) form;
BertLab's other kernels compute the same function.
"""
import math

import torch
import torch.nn.functional as F

EPS = 1e-12

def spec_from_config(attention):
    """The mechanism of config.json's "attention" value (a preset name or an object), as a plain dict."""
    if attention is None:
        attention = "softmax"
    if isinstance(attention, str):
        attention = {"preset": attention}
    sim, act, scale, norm = PRESETS[attention.get("preset", "softmax")] if attention.get("preset", "softmax") in PRESETS else PRESETS["softmax"]
    spec = {
        "similarity": attention.get("similarity", sim),
        "activation": attention.get("activation", act),
        "scaling": attention.get("scaling", scale),
        "normalize": list(attention.get("normalize", norm)),
        "token_dropout": float(attention.get("token_dropout", 0.0)),
        "p_init": float(attention.get("p_init", DEFAULT_P_INIT)),
        "scale_init": float(attention.get("scale_init", DEFAULT_SCALE_INIT)),
    }
    for key, table in (("similarity", SIMILARITIES), ("activation", ACTIVATIONS), ("scaling", SCALINGS)):
        if spec[key] not in table:
            raise ValueError(f"attention.{key}: {spec[key]!r} is not allowed; allowed: {', '.join(table)}")
    for n in spec["normalize"]:
        if n not in NORMALIZABLE:
            raise ValueError(f"attention.normalize: {n!r} is not allowed; allowed: {', '.join(NORMALIZABLE)}")
    return spec


def l2(x):
    return x * torch.linalg.vector_norm(x, 2, dim=-1, keepdim=True).clamp_min(EPS).reciprocal()


def l1(x):
    return F.normalize(x, p=1.0, dim=-1, eps=EPS)


def lp_normalize(x, p):
    """x / ||x||_p per row, p broadcasting as (1, H, 1, 1); overflow-free, zero rows stay zero."""
    a = x.abs()
    m = a.amax(-1, keepdim=True)
    pos = m > 0
    safe_m = torch.where(pos, m, torch.ones_like(m))
    s = (a / safe_m).pow(p).sum(-1, keepdim=True)
    safe_s = torch.where(pos, s, torch.ones_like(s))
    norm = torch.where(pos, safe_m * safe_s.pow(1.0 / p), torch.zeros_like(s))
    return x / norm.clamp_min(EPS)


def lp_distance(a, b, p):
    """||a_i - b_j||_p for (B, H, S, d) rows, p (1, H, 1, 1): (B, H, Sq, Sk), in the overflow-free form m * t^(1/p)."""
    diff = (a.unsqueeze(-2) - b.unsqueeze(-3)).abs()          # (B, H, Sq, Sk, d)
    m = diff.amax(-1, keepdim=True)
    pos = m > 0
    r = diff / torch.where(pos, m, torch.ones_like(m))
    t = r.pow(p.unsqueeze(-1)).sum(-1)
    return torch.where(pos.squeeze(-1), m.squeeze(-1) * t.pow(1.0 / p), torch.zeros_like(t))


def lp_p(p_logit):
    return (F.softplus(p_logit) + 1e-6).view(1, -1, 1, 1)


def lp_logit_for(p_init):
    x = p_init - 1e-6
    return x + math.log(-math.expm1(-x)) if x > 30 else math.log(math.expm1(x))


# @bertlab-registry-tables


def attention(spec, q, k, v, key_mask=None, params=None):
    """q, k, v: (B, H, S, d); key_mask: (B, S) with True/1 for real tokens, or None. Returns (B, H, S, d)."""
    params = params or {}
    B, H, S, d = q.shape
    if key_mask is None:
        key_mask = torch.ones(B, S, dtype=torch.bool, device=q.device)
    keys = key_mask.to(torch.bool).view(B, 1, 1, S)
    keys_f = keys.to(q.dtype)
    rows = keys_f.view(B, 1, S, 1)
    counts = keys_f.sum(-1, keepdim=True)                       # (B, 1, 1, 1)
    norm = spec["normalize"]
    x = {"q": q, "k": k, "v": v}
    for n in norm:
        x[n] = l2(x[n])
    q, k, v = x["q"], x["k"], x["v"]
    # BERT's own softmax attention keeps Hugging Face's semantics (padded query rows computed like the others, as
    # BertLab does); every other mechanism zeroes padded rows of Q', K', V' and of the output.
    hf_softmax = (spec["similarity"] == "dot" and spec["activation"] == "softmax" and spec["scaling"] == "none"
                  and not norm and spec.get("token_dropout", 0.0) == 0.0)
    if not hf_softmax:
        q, k, v = q * rows, k * rows, v * rows
    s = SIMILARITIES[spec["similarity"]](q, k, params)
    a = ACTIVATIONS[spec["activation"]](s, keys)
    if not hf_softmax:
        a = a * rows
    out = torch.matmul(a, v)
    divisor = SCALINGS[spec["scaling"]](counts, a, params)
    if divisor is not None:
        out = out / divisor
    return out


class BertLabSelfAttention(torch.nn.Module):
    """Drop-in for transformers' BertSelfAttention (same parameter names: query, key, value, and the mechanism's
    scale_logit / p_logit), computing BertLab's attention."""

    def __init__(self, hidden_size, num_heads, attention_config):
        super().__init__()
        self.num_attention_heads = num_heads
        self.attention_head_size = hidden_size // num_heads
        self.all_head_size = hidden_size
        self.query = torch.nn.Linear(hidden_size, hidden_size)
        self.key = torch.nn.Linear(hidden_size, hidden_size)
        self.value = torch.nn.Linear(hidden_size, hidden_size)
        self.spec = spec_from_config(attention_config)
        for table, key in ((SIMILARITY_PARAMETERS, "similarity"), (SCALING_PARAMETERS, "scaling")):
            if self.spec[key] in table:
                for name, value in table[self.spec[key]](num_heads, self.spec).items():
                    setattr(self, name, torch.nn.Parameter(value))

    def _heads(self, x):
        B, S, _ = x.shape
        return x.view(B, S, self.num_attention_heads, self.attention_head_size).transpose(1, 2)

    @staticmethod
    def key_mask_from(attention_mask, batch, seq_len):
        """(B, S) bool from a (B, S) 0/1 mask, a bool mask, or transformers' extended additive mask (B, 1, Sq|1, S)."""
        if attention_mask is None:
            return None
        m = attention_mask
        if m.dim() == 2:
            return m.to(torch.bool) if m.dtype == torch.bool else m != 0
        if m.dtype == torch.bool:
            return m.reshape(batch, -1, seq_len).any(1)
        return (m > -1).reshape(batch, -1, seq_len).any(1)   # additive: 0 where attended, a large negative elsewhere

    def forward(self, hidden_states, attention_mask=None, *args, **kwargs):
        B, S, _ = hidden_states.shape
        params = {n: p for n, p in self.named_parameters(recurse=False)}
        out = attention(self.spec, self._heads(self.query(hidden_states)), self._heads(self.key(hidden_states)),
                        self._heads(self.value(hidden_states)), self.key_mask_from(attention_mask, B, S), params)
        context = out.transpose(1, 2).contiguous().view(B, S, self.all_head_size)
        return context, None
