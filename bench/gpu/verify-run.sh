#!/usr/bin/env bash
# A short check in one call: Hugging Face sdpa at seq 4096 and 128, BertLab cottention at 4096 and softmax at 128.
set -u
out=${OUT:-/tmp/bertlab-gpu-out}; mkdir -p "$out"
exec > >(tee -a "$out/log.txt") 2>&1
export PYTHONUNBUFFERED=1 NO_COLOR=1 COLUMNS=200
nvidia-smi --query-gpu=name --format=csv,noheader
BERTLAB_HF_ONLY=sdpa_s4096_b4,sdpa_s128_b128 timeout 90 python3 bench/gpu/hf_reference_bench.py "$out/hf.json" || echo "HF FAILED"
[ -x /tmp/dn/dotnet ] || tar xJf .gpu/dotnet.tar.xz -C /tmp
tl=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
export DOTNET_ROOT=/tmp/dn LD_LIBRARY_PATH="$tl:$PWD/.gpu/app:${LD_LIBRARY_PATH:-}"
for c in base/cottention/4096 base/softmax/128; do
  timeout 60 /tmp/dn/dotnet .gpu/app/BertLab.Cli.dll bench train --device cuda --only "$c" --steps 10 --json "$out/bl_$(echo "$c" | tr / _).json" || echo "FAILED $c"
done
