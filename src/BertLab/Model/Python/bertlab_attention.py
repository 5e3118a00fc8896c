"""BertLab's attention mechanisms in PyTorch alone (no transformers): O = Scale(Mask(Act(Sim(Q', K'))) . V').

Written by BertLab next to a model whose attention is not softmax; modeling_bertlab.py puts BertLabSelfAttention in
place of transformers' BertSelfAttention. The "attention" section of config.json selects the mechanism:
similarity (dot, cosine, euclidean, manhattan, lp, angular), activation (softmax, relu, sigmoid, none), scaling (none,
n, sqrt_n, n_pow_sigma, rowsum) and normalize (q, k, v). Masking: padded keys contribute nothing, padded query rows
output 0, n counts the real tokens of each sequence. This is the explicit (quadratic) form; BertLab's linear kernel
computes the same function.
"""
import math

import torch
import torch.nn.functional as F

EPS = 1e-12

PRESETS = {
    "softmax": ("dot", "softmax", "none", []),
    "cosine": ("cosine", "none", "none", []),
    "cosine-relu": ("cosine", "relu", "none", []),
    "cosine-n": ("cosine", "none", "n", []),
    "cosine-sqrt-n": ("cosine", "none", "sqrt_n", []),
    "cottention": ("cosine", "none", "n_pow_sigma", []),
    "qkv-norm": ("cosine", "none", "none", ["v"]),
    "cosine-sigmoid": ("cosine", "sigmoid", "none", []),
    "cosine-softmax": ("cosine", "softmax", "none", []),
    "euclidean": ("euclidean", "relu", "n", []),
    "manhattan": ("manhattan", "relu", "n", []),
    "lp": ("lp", "relu", "n", []),
    "angular": ("angular", "relu", "n", []),
}


def spec_from_config(attention):
    """The mechanism of config.json's "attention" value (a preset name or an object), as a plain dict."""
    if attention is None:
        attention = "softmax"
    if isinstance(attention, str):
        attention = {"preset": attention}
    sim, act, scale, norm = PRESETS[attention.get("preset", "softmax")] if attention.get("preset", "softmax") in PRESETS else PRESETS["softmax"]
    return {
        "similarity": attention.get("similarity", sim),
        "activation": attention.get("activation", act),
        "scaling": attention.get("scaling", scale),
        "normalize": list(attention.get("normalize", norm)),
        "token_dropout": float(attention.get("token_dropout", 0.0)),
        "p_init": float(attention.get("p_init", 2.0)),
        "scale_init": float(attention.get("scale_init", 0.5)),
    }


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


def scores(spec, q, k, params):
    sim = spec["similarity"]
    if sim == "dot":
        return torch.matmul(q / math.sqrt(q.shape[-1]), k.transpose(-2, -1))
    if sim == "cosine":
        return torch.matmul(l2(q), l2(k).transpose(-2, -1))
    if sim == "euclidean":
        a, b = l2(q), l2(k)
        sq = a.square().sum(-1, keepdim=True) + b.square().sum(-1).unsqueeze(-2) - 2 * torch.matmul(a, b.transpose(-2, -1))
        return 1 - sq.clamp_min(0.0).sqrt() / 2
    if sim == "angular":
        cos = torch.matmul(l2(q), l2(k).transpose(-2, -1))
        return 1 - cos.clamp(-1.0, 1.0).arccos() / math.pi
    if sim == "manhattan":
        one = torch.ones(1, 1, 1, 1, dtype=q.dtype, device=q.device)
        return 1 - lp_distance(l1(q), l1(k), one) / 2
    if sim == "lp":
        p = lp_p(params["p_logit"]).to(q.dtype)
        return 1 - lp_distance(lp_normalize(q, p), lp_normalize(k, p), p) / 2
    raise ValueError(f"unknown similarity {sim!r}")


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
    if "q" in norm:
        q = l2(q)
    if "k" in norm:
        k = l2(k)
    if "v" in norm:
        v = l2(v)
    # BERT's own softmax attention keeps Hugging Face's semantics (padded query rows computed like the others, as
    # BertLab's SoftmaxAttention); every other mechanism zeroes padded rows of Q', K', V' and of the output.
    hf_softmax = (spec["similarity"] == "dot" and spec["activation"] == "softmax" and spec["scaling"] == "none"
                  and not norm and spec.get("token_dropout", 0.0) == 0.0)
    if not hf_softmax:
        q, k, v = q * rows, k * rows, v * rows
    s = scores(spec, q, k, params)
    act = spec["activation"]
    if act == "softmax":
        a = s.masked_fill(~keys, float("-inf")).softmax(-1)
    else:
        f = {"relu": F.relu, "sigmoid": torch.sigmoid, "none": lambda t: t}[act]
        a = f(s) * keys_f
    if not hf_softmax:
        a = a * rows
    out = torch.matmul(a, v)
    scale = spec["scaling"]
    if scale == "n":
        out = out / counts.clamp_min(1)
    elif scale == "sqrt_n":
        out = out / counts.clamp_min(1).sqrt()
    elif scale == "n_pow_sigma":
        e = params["scale_logit"].to(counts.dtype).sigmoid().view(1, -1, 1, 1)
        out = out / counts.pow(e).clamp_min(1)
    elif scale == "rowsum":
        out = out / (a.sum(-1, keepdim=True).abs() + 1e-6)
    elif scale != "none":
        raise ValueError(f"unknown scaling {scale!r}")
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
        if self.spec["scaling"] == "n_pow_sigma":
            self.scale_logit = torch.nn.Parameter(torch.full((num_heads,), self.spec["scale_init"]))
        if self.spec["similarity"] == "lp":
            self.p_logit = torch.nn.Parameter(torch.full((num_heads,), lp_logit_for(self.spec["p_init"])))

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
