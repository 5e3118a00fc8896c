#!/usr/bin/env bash
# BertLab's `bench train` (default settings: --optimizer auto) and the plain-PyTorch peer, interleaved, on this CPU.
# Usage: bench/pytorch-peer/compare.sh [ROUNDS=2] [ONLY=base/softmax/128] [OUT=bench/pytorch-peer/results]
# Needs: a Release build (dotnet build BertLab.slnx -c Release) and Debian's python3-torch + libopenblas0-pthread
# (apt-get install -y python3-torch libopenblas0-pthread python3-threadpoolctl).
# The peer runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (unset for that process only), so OpenBLAS picks its
# kernel itself; the JSON says which. Both run with OMP_WAIT_POLICY=PASSIVE (spinning threads hurt on a shared machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}; ONLY=${2:-base/softmax/128}; OUT=${3:-bench/pytorch-peer/results}
PY=${PYTHON:-/usr/bin/python3}   # Debian's interpreter (python3-torch), not a pyenv/venv one
CLI=src/BertLab.Cli/bin/Release/net10.0/BertLab.Cli.dll
[ -f "$CLI" ] || { echo "build first: dotnet build BertLab.slnx -c Release" >&2; exit 2; }
$PY -c "import torch" 2>/dev/null || { echo "install the peer: apt-get install -y python3-torch libopenblas0-pthread" >&2; exit 2; }
mkdir -p "$OUT"
# The same thread count for both: BertLab takes libtorch's default (every core), Debian's torch 1.13 picks 1 on this
# VM (it counts physical cores), which would halve the peer.
THREADS=${THREADS:-$(nproc)}
seq_len=${ONLY##*/}; batch=8; [ "$seq_len" = 512 ] && batch=2
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r: bertlab $(date -u +%T), load $(cut -d' ' -f1 /proc/loadavg)"
  OMP_WAIT_POLICY=PASSIVE dotnet "$CLI" bench train --only "$ONLY" --threads "$THREADS" --json "$OUT/bertlab-$r.json" > "$OUT/bertlab-$r.log" 2>&1
  echo "round $r: pytorch $(date -u +%T), load $(cut -d' ' -f1 /proc/loadavg)"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE $PY bench/pytorch-peer/bert_train_step.py --seq "$seq_len" --batch "$batch" --threads "$THREADS" > "$OUT/pytorch-$r.json"
done
$PY - "$OUT" "$ROUNDS" <<'PY'
import json, sys, statistics, subprocess
out, rounds = sys.argv[1], int(sys.argv[2])
rows = []
for r in range(1, rounds + 1):
    b = json.load(open(f"{out}/bertlab-{r}.json"))[0]
    p = json.load(open(f"{out}/pytorch-{r}.json"))
    rows.append({"round": r, "bertlab_tokens_per_s": b["tokens_per_s"], "bertlab_mfu": b["mfu"], "bertlab_peak_gflops": round(b["peak_tflops"] * 1000, 1),
                 "bertlab_optimizer": b["optimizer"], "pytorch_tokens_per_s": p["tokens_per_s"], "pytorch_mfu": p["mfu"],
                 "pytorch_peak_gflops": p["peak_gflops"], "ratio": round(b["tokens_per_s"] / p["tokens_per_s"], 3)})
p = json.load(open(f"{out}/pytorch-1.json"))
summary = {"config": f"{b['model']}/{b['attention']}/{b['seq_len']} batch {b['batch']}", "cpu": b["cpu"], "rounds": rows,
           "median_ratio": statistics.median(r["ratio"] for r in rows), "pytorch": p["torch"], "openblas": p["openblas"],
           "load_average": open("/proc/loadavg").read().split()[:3]}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
for r in rows:
    print(f"round {r['round']}: BertLab {r['bertlab_tokens_per_s']:.0f} tokens/s (MFU {r['bertlab_mfu']:.2f} of {r['bertlab_peak_gflops']} GFLOP/s, {r['bertlab_optimizer']}), "
          f"PyTorch {r['pytorch_tokens_per_s']:.0f} tokens/s (MFU {r['pytorch_mfu']:.2f} of {r['pytorch_peak_gflops']}): ratio {r['ratio']:.2f}")
print(f"median ratio BertLab / PyTorch: {summary['median_ratio']:.2f}; OpenBLAS core: {p['openblas'].get('openblas_get_corename')}; summary → {out}/summary.json")
PY
