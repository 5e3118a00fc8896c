# Copied from ../shared/tools/gpu/hf_reference_bench.py (the GPU machine gets only the repository). BertLab's additions,
# marked "BertLab:", only record more: the transformers version, the allocator's reserved peak, and the device memory in
# use after the timed steps minus before the model (cudaMemGetInfo: what BertLab's bench train records, one way for both).
# GPU anchor: Hugging Face BertForMaskedLM (bert-base shape, random init) training throughput,
# bf16 autocast + AdamW, eager vs sdpa attention; also a cosine/linear attention registered via
# AttentionInterface (Q,K L2-normalised, V divided by the number of real tokens, right product).
import time, json, sys, os  # BertLab: os
import torch
from transformers import BertConfig, BertForMaskedLM
results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
import transformers; results["transformers"] = transformers.__version__  # BertLab:

def cos_linear(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kw):
    # query/key/value: (B, H, S, d); attention_mask additive or None
    q = torch.nn.functional.normalize(query.float(), dim=-1)
    k = torch.nn.functional.normalize(key.float(), dim=-1)
    v = value.float() / query.shape[-2]
    out = q @ (k.transpose(-1, -2) @ v)
    return out.transpose(1, 2).contiguous().to(query.dtype), None

try:
    from transformers import AttentionInterface
    AttentionInterface.register("cos_linear", cos_linear)
    impls = ["eager", "sdpa", "cos_linear"]
except Exception as e:
    print("AttentionInterface unavailable", repr(e))
    impls = ["eager", "sdpa"]

def bench(impl, seq, bs, steps=10):
    torch.cuda.synchronize(); free0, total = torch.cuda.mem_get_info()  # BertLab:
    cfg = BertConfig(max_position_embeddings=max(512, seq))
    try:
        m = BertForMaskedLM._from_config(cfg, attn_implementation=impl).cuda()
    except Exception as e:
        try:
            cfg._attn_implementation = impl
            m = BertForMaskedLM(cfg).cuda()
        except Exception as e2:
            return {"error": repr(e)[:200] + " / " + repr(e2)[:200]}
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
    ids = torch.randint(1000, 30000, (bs, seq), device="cuda")
    labels = ids.clone(); labels[torch.rand(bs, seq, device="cuda") > 0.15] = -100
    torch.cuda.reset_peak_memory_stats()
    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = m(input_ids=ids, labels=labels).loss
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    for _ in range(3): step()
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(steps): step()
    torch.cuda.synchronize(); dt = (time.perf_counter() - t) / steps
    r = {"seq_per_s": bs / dt, "tokens_per_s": bs * seq / dt, "ms_per_step": dt * 1e3, "peak_mem_gb": torch.cuda.max_memory_allocated() / 2**30}
    free1, _ = torch.cuda.mem_get_info()  # BertLab:
    r["peak_reserved_gb"] = torch.cuda.max_memory_reserved() / 2**30; r["device_used_delta_mb"] = (free0 - free1) / 2**20  # BertLab:
    del m, opt; torch.cuda.empty_cache()
    return r

for seq, bs in [(128, 128), (512, 32), (4096, 4)]:
    for impl in impls:
        if seq == 4096 and impl == "eager":
            continue
        key = f"{impl}_s{seq}_b{bs}"
        if os.environ.get("BERTLAB_HF_ONLY") and key not in os.environ["BERTLAB_HF_ONLY"].split(","): continue  # BertLab: select
        results[key] = bench(impl, seq, bs)
        print(key, results[key], flush=True)
json.dump(results, open(sys.argv[1], "w"), indent=1)
