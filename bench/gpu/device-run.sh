#!/usr/bin/env bash
# The whole GPU check in one call on a lent H100/H200 (issue 9), from the repository root there, after
# `bash bench/gpu/prepare.sh` here (carry .gpu):
#   1. Hugging Face's BertForMaskedLM reference (bench/gpu/hf_reference_bench.py) on the card;
#   2. BertLab `bench train --device cuda` on the same card and shapes, one process per configuration (each starts with an
#      empty device, so its memory figure is its own), bf16 mixed precision + flat AdamW, with a time breakdown;
#      plus controls: TorchSharp's per-tensor AdamW and fp32 (bert-base seq 128), and torch.autocast's casting policy
#      (bf16-autocast: fp32 activations) at seq 128 softmax and seq 4096 cottention;
#   3. `bertlab train` on the embedded defaults on CUDA in bf16 and in fp32 (the same seed and data): do the losses track?
# Everything lands in $OUT: log.txt, hf.json, bertlab.json, train.json.
set -u
out=${OUT:-/tmp/bertlab-gpu-out}; mkdir -p "$out"
exec > >(tee -a "$out/log.txt") 2>&1
export PYTHONUNBUFFERED=1 NO_COLOR=1 COLUMNS=200
t0=$(date +%s)
stamp() { echo "== $(( $(date +%s) - t0 ))s: $*"; }
stamp start; nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; lscpu | grep -E 'Model name|^CPU\(s\)'
stamp "Hugging Face reference"
timeout 240 python3 bench/gpu/hf_reference_bench.py "$out/hf.json" || echo "HF reference FAILED rc=$?"
mkdir -p /tmp/bl
# What .gpu/run.sh does, once (it imports torch on every call to find PyTorch's lib folder: seconds each).
[ -x /tmp/dn/dotnet ] || tar xJf .gpu/dotnet.tar.xz -C /tmp
tl=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
export DOTNET_ROOT=/tmp/dn LD_LIBRARY_PATH="$tl:$PWD/.gpu/app:${LD_LIBRARY_PATH:-}"
bl() { timeout 150 /tmp/dn/dotnet .gpu/app/BertLab.Cli.dll "$@"; }
for c in base/softmax/128 base/cottention/128 base/softmax/512 base/cottention/512 base/softmax/4096 base/cottention/4096 small/softmax/128 small/cottention/128; do
  stamp "bertlab $c"
  bl bench train --device cuda --only "$c" --steps 10 --breakdown --json "/tmp/bl/$(echo "$c" | tr / _).json" || echo "FAILED $c rc=$?"
done
stamp "control: torch AdamW"; bl bench train --device cuda --only base/softmax/128 --steps 10 --optimizer torch --breakdown --json /tmp/bl/z_torch_adamw.json || echo FAILED
stamp "control: fp32";        bl bench train --device cuda --only base/softmax/128 --steps 10 --precision fp32 --json /tmp/bl/z_fp32.json || echo FAILED
for c in base/softmax/128 base/cottention/4096; do
  stamp "control: bf16-autocast $c"
  bl bench train --device cuda --only "$c" --steps 10 --precision bf16-autocast --breakdown --json "/tmp/bl/z_autocast_$(echo "$c" | tr / _).json" || echo FAILED
done
python3 - "$out/bertlab.json" /tmp/bl/*.json <<'PY'
import json, sys
rows = []
for p in sys.argv[2:]:
    try: rows += json.load(open(p))
    except Exception as e: rows.append({"file": p, "error": repr(e)})
json.dump(rows, open(sys.argv[1], "w"), indent=1)
PY
for p in bf16 fp32; do
  stamp "train $p"
  timeout 240 /tmp/dn/dotnet .gpu/app/BertLab.Cli.dll train --device cuda --precision $p --out /tmp/runs/$p || echo "FAILED train $p rc=$?"
done
python3 - "$out/train.json" <<'PY'
import json, sys, os
res = {}
for p in ("bf16", "fp32"):
    d = f"/tmp/runs/{p}"; r = {}
    for f in ("summary.json",):
        try: r["summary"] = json.load(open(os.path.join(d, f)))
        except Exception as e: r["summary_error"] = repr(e)
    try: r["metrics"] = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl")) if l.strip()]
    except Exception as e: r["metrics_error"] = repr(e)
    res[p] = r
json.dump(res, open(sys.argv[1], "w"), indent=1)
PY
stamp done
