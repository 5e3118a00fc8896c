#!/usr/bin/python3
"""The CPU peer of `bertlab bench train`: the same BERT masked-LM training step in plain PyTorch (eager, no
transformers package), to state every CPU result as a ratio to PyTorch measured in the same run.

What it mirrors (src/BertLab/Training/TrainBenchmark.cs, the "base" preset in RunConfig.cs):
  BERT-base (12 layers, hidden 768, 12 heads, FFN 3072, exact GELU, vocabulary 30522, 512 positions, 2 token types,
  LayerNorm eps 1e-12, dropout 0.1 on hidden states and attention probabilities, tied decoder with a bias),
  softmax attention with no attention mask (no padding), batch of random ids in [1000, vocab), 15 % of positions
  masked (input id 103), MLM logits only at the masked positions (index_select before the head), mean cross-entropy,
  AdamW lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0.01 except biases and LayerNorm, gradient clipping at 1.0,
  2 warm-up + 4 timed steps, the fp32 matmul peak (2048², best of 5) measured just before.
Plain PyTorch 1.13 has no fused attention (scaled_dot_product_attention came in 2.0): attention is the explicit
softmax(QKᵀ/√d)V, as Hugging Face's BERT did in eager mode.

Prints one JSON object (tokens/s, ms/step, MFU, the BLAS PyTorch uses and the OpenBLAS kernel it chose).
"""
import argparse, ctypes, json, math, os, platform, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, h, heads, ffn, p, eps):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=eps)
        self.inter = nn.Linear(h, ffn)
        self.out = nn.Linear(ffn, h)
        self.out_norm = nn.LayerNorm(h, eps=eps)
        self.p = p

    def forward(self, x):
        b, s, h = x.shape
        d = h // self.heads
        split = lambda t: t.view(b, s, self.heads, d).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        probs = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)
        probs = F.dropout(probs, self.p, self.training)
        ctx = (probs @ v).transpose(1, 2).reshape(b, s, h)
        x = self.attn_norm(x + F.dropout(self.attn_out(ctx), self.p, self.training))
        y = self.out(F.gelu(self.inter(x)))
        return self.out_norm(x + F.dropout(y, self.p, self.training))


class BertMlm(nn.Module):
    def __init__(self, vocab=30522, h=768, layers=12, heads=12, ffn=3072, positions=512, types=2, p=0.1, eps=1e-12):
        super().__init__()
        self.word = nn.Embedding(vocab, h)
        self.position = nn.Embedding(positions, h)
        self.token_type = nn.Embedding(types, h)
        self.emb_norm = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(Layer(h, heads, ffn, p, eps) for _ in range(layers))
        self.transform = nn.Linear(h, h)
        self.transform_norm = nn.LayerNorm(h, eps=eps)
        self.decoder_bias = nn.Parameter(torch.zeros(vocab))
        self.p = p
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, ids, types, masked_index, targets):
        b, s = ids.shape
        pos = torch.arange(s).unsqueeze(0)
        x = self.word(ids) + self.position(pos) + self.token_type(types)
        x = F.dropout(self.emb_norm(x), self.p, self.training)
        for layer in self.layers:
            x = layer(x)
        rows = x.reshape(-1, x.shape[-1]).index_select(0, masked_index)
        rows = self.transform_norm(F.gelu(self.transform(rows)))
        logits = rows @ self.word.weight.t() + self.decoder_bias
        return F.cross_entropy(logits, targets)


def openblas_info():
    """The OpenBLAS library this process loaded and the kernel (core) it chose, via its own API."""
    info = {}
    try:
        from threadpoolctl import threadpool_info
        info["threadpoolctl"] = [{k: v for k, v in d.items() if k in ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")}
                                 for d in threadpool_info()]
    except Exception as e:  # threadpoolctl absent
        info["threadpoolctl"] = f"unavailable ({type(e).__name__})"
    paths = set()
    with open("/proc/self/maps") as f:
        for line in f:
            if "openblas" in line.lower():
                paths.add(line.split()[-1])
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            for fn in ("openblas_get_corename", "openblas_get_config"):
                g = getattr(lib, fn, None)
                if g is not None:
                    g.restype = ctypes.c_char_p
                    info.setdefault(fn, g().decode())
            info.setdefault("library", path)
        except OSError:
            pass
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    # The fp32 matmul peak (as bench train: 2048², into one preallocated output, best of 5 after a warm-up; best of two
    # such measurements). A fresh output per product also times its page faults and reads the peak low.
    def peak():
        a, b, c = torch.randn(2048, 2048), torch.randn(2048, 2048), torch.empty(2048, 2048)
        torch.mm(a, b, out=c)
        best = min(timeit(lambda: torch.mm(a, b, out=c)) for _ in range(5))
        return 2 * 2048 ** 3 / best / 1e9
    peak_gflops = max(peak(), peak())

    model = BertMlm()
    model.train()
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "norm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "norm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1000, 30522, (args.batch, args.seq), generator=g)
    select = torch.rand(args.batch, args.seq, generator=g) < 0.15
    labels = torch.where(select, ids, torch.full_like(ids, -100)).reshape(-1)
    masked_index = (labels != -100).nonzero().squeeze(1)
    targets = labels.index_select(0, masked_index)
    inputs = torch.where(select, torch.full_like(ids, 103), ids)
    types = torch.zeros_like(inputs)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(inputs, types, masked_index, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - t0) / args.steps

    # FLOPs per token as bench train counts them (TrainBenchmark.FlopsPerToken): 6 × (dense + attention + masked head).
    h, l, f, vocab = 768, 12, 3072, 30522
    fpt = 6 * (l * (4 * h * h + 2 * h * f) + l * 2 * args.seq * h + 0.15 * (h * h + h * vocab))
    tokens_per_s = args.batch * args.seq / seconds
    print(json.dumps({
        "runner": "pytorch-peer", "torch": torch.__version__, "python": platform.python_version(),
        "threads": torch.get_num_threads(), "blas": torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0] if "BLAS_INFO=" in torch.__config__.show() else None,
        "openblas": openblas_info(),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")},
        "model": "base", "attention": "softmax (explicit)", "seq_len": args.seq, "batch": args.batch,
        "ms_per_step": round(seconds * 1000, 1), "tokens_per_s": round(tokens_per_s, 1),
        "flops_per_token": round(fpt), "achieved_gflops": round(fpt * tokens_per_s / 1e9, 1),
        "peak_gflops": round(peak_gflops, 1), "mfu": round(fpt * tokens_per_s / 1e9 / peak_gflops, 4),
    }))


def timeit(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
