#!/usr/bin/env bash
# Data-parallel scaling on one machine: `bertlab train` on 1 process and under `mpirun -np 2`, 1 thread per rank,
# the same micro-batch per rank (so 2 ranks train on twice the sequences per step). Reports tokens/s (steps 2.. only)
# and the share of the training time rank 0 spends in the gradient all-reduce (BERTLAB_MPI_PROFILE=1 puts a barrier
# before it, so time spent waiting for the slower rank is counted separately).
# Usage: bench/DataParallel/mpi-scaling.sh [shape:batch:steps ...]   (default: small:16:6 base:4:4)
set -euo pipefail
cd "$(dirname "$0")/../.."
cli=src/BertLab.Cli/bin/Release/net10.0/BertLab.Cli.dll
[ -f "$cli" ] || dotnet build src/BertLab.Cli/BertLab.Cli.csproj -c Release -v q
work=$(mktemp -d /tmp/bertlab-mpi-bench.XXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
(zcat data/corpus/austen-novels.txt.gz || true) | head -c 800000 > "$work/corpus.txt"
shapes=("$@"); [ ${#shapes[@]} -gt 0 ] || shapes=(small:16:6 base:4:4)
printf '%-6s %5s %6s %12s %14s %12s %10s\n' shape ranks batch "tokens/s" "s/step(2..)" "allreduce" "wait"
for spec in "${shapes[@]}"; do
  IFS=: read -r shape batch steps <<< "$spec"
  for ranks in 1 2; do
    out="$work/$shape-$ranks"
    args=(train --model "$shape" --attention softmax --corpus "$work/corpus.txt" --out "$out" --steps "$steps" --threads 1
          --set run.batch_size="$batch" --set run.log_interval=1 --set data.seq_len=128
          --set run.eval_interval=100000 --set run.eval_batches=1 --set run.checkpoint_interval=100000)
    if [ "$ranks" = 1 ]; then dotnet "$cli" "${args[@]}" > "$out.log" 2>&1
    else BERTLAB_MPI_PROFILE=1 mpirun --allow-run-as-root --oversubscribe --bind-to none -x BERTLAB_MPI_PROFILE -np 2 dotnet "$cli" "${args[@]}" > "$out.log" 2>&1; fi
    python3 - "$out" "$shape" "$ranks" "$batch" <<'PY'
import json, sys, statistics
out, shape, ranks, batch = sys.argv[1:]
recs = [json.loads(l) for l in open(out + "/metrics.jsonl") if '"loss"' in l]
s = json.load(open(out + "/summary.json"))
later = recs[1:] or recs
tps = statistics.median(r["tokens_per_s"] for r in later)
step_s = statistics.median(r["elapsed_s"] - p["elapsed_s"] for p, r in zip(recs, recs[1:])) if len(recs) > 1 else float("nan")
train_s = s["tokens"] / s["tokens_per_s"]
ar = s.get("allreduce_s"); wait = s.get("allreduce_wait_s", 0)
share = f"{ar:.2f}s {100*ar/train_s:4.1f}%" if ar is not None else "-"
w = f"{wait:.2f}s" if ar is not None else "-"
print(f"{shape:<6} {ranks:>5} {batch:>6} {tps:>12,.0f} {step_s:>14.2f} {share:>12} {w:>10}")
PY
  done
done
