"""Summarises Nsight Compute CSVs from bench/gpu/profile-run.sh: kernel time of the last training step by kernel kind.
usage: python3 bench/gpu/ncu_summary.py A.csv [B.csv]   (the step = the second half of the kernels after the matmul peak)"""
import csv, re, sys
from collections import defaultdict

def kernels(path):
    rows = []
    with open(path) as f:
        lines = [l for l in f if l.startswith('"')]
    for r in csv.DictReader(lines):
        if r["Metric Name"] != "gpu__time_duration.sum": continue
        v = float(r["Metric Value"].replace(",", ""))
        unit = r["Metric Unit"]
        us = v / 1000 if unit in ("ns", "nsecond") else v * 1000 if unit in ("ms", "msecond") else v
        rows.append((r["Kernel Name"], us))
    return rows

def kind(name):
    n = name
    if re.search(r"gemm|cutlass|sm90_|xmma|Kernel2|nvjet", n): return "matmul (cuBLAS)"
    if "flash" in n or "fmha" in n: return "fused attention (SDPA)"
    m = re.search(r"(reduce_kernel|CatArrayBatchedCopy|layer_norm|LayerNorm|softmax|Softmax|index|dropout|fused_dropout|bernoulli|distribution|nll_loss|cross_entropy|sort|nonzero|where|copy|direct_copy|unrolled_elementwise_kernel|vectorized_elementwise_kernel|elementwise_kernel)", n)
    base = m.group(1) if m else n[:40]
    f = re.search(r"(\w+Functor\w*|\w+_kernel_cuda|\w+Op\b|Mul\w*|Div\w*|Add\w*|sqrt|rsqrt|pow|log|exp|sigmoid|gelu|GeluCUDAKernelImpl|clamp|neg|abs|norm\w*|copy_kernel|fill|where)", n)
    return base + (":" + f.group(1) if f else "")

def step(rows):
    # the matmul peak (2 × 11 squares of 8192) comes first; warm-up and timed step split the rest in two equal halves
    body = rows[next(i for i, (n, _) in enumerate(rows) if "distribution" in n):] if any("distribution" in n for n, _ in rows) else rows
    return body[len(body) // 2:]

def table(path):
    s = step(kernels(path))
    agg = defaultdict(lambda: [0.0, 0])
    for n, us in s:
        a = agg[kind(n)]; a[0] += us; a[1] += 1
    return s, agg

paths = sys.argv[1:]
tabs = [table(p) for p in paths]
for p, (s, agg) in zip(paths, tabs):
    print(f"{p}: {len(s)} kernels, {sum(u for _, u in s) / 1000:.1f} ms of kernel time in the step")
keys = sorted(set().union(*[t[1].keys() for t in tabs]), key=lambda k: -max(t[1][k][0] for t in tabs))
print(f"{'kernel kind':60s}" + "".join(f"{'ms':>9s}{'n':>6s}" for _ in tabs))
for k in keys[:30]:
    print(f"{k[:60]:60s}" + "".join(f"{t[1][k][0] / 1000:9.2f}{t[1][k][1]:6d}" for t in tabs))
