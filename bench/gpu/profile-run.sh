#!/usr/bin/env bash
# Kernel-level profile of BertLab's own training step on a lent GPU (issue 9: where the cottention step's time goes):
# Nsight Compute records every kernel's duration (one metric, clocks not locked) for one warm-up and one timed step of
# `bench train` at bert-base, batch 128, seq 128, for cottention and softmax. bench/gpu/ncu_summary.py aggregates them.
set -u
out=${OUT:-/tmp/bertlab-gpu-out}; mkdir -p "$out"
exec > >(tee -a "$out/log.txt") 2>&1
[ -x /tmp/dn/dotnet ] || tar xJf .gpu/dotnet.tar.xz -C /tmp
tl=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
export DOTNET_ROOT=/tmp/dn LD_LIBRARY_PATH="$tl:$PWD/.gpu/app:${LD_LIBRARY_PATH:-}" NO_COLOR=1 COLUMNS=200
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
echo "ncu: $ncu"; nvidia-smi --query-gpu=name --format=csv,noheader
for c in base/cottention/128 base/softmax/128; do
  f=$(echo "$c" | tr / _)
  echo "== $c"
  timeout 150 "$ncu" --metrics gpu__time_duration.sum --csv --clock-control none --target-processes all --log-file "$out/ncu_$f.csv" \
    /tmp/dn/dotnet .gpu/app/BertLab.Cli.dll bench train --device cuda --only "$c" --steps 1 --warmup 1 || echo "FAILED $c rc=$?"
  ls -la "$out/ncu_$f.csv" || true
done
