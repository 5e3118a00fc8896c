"""Runs the bertlab_attention.py that BertLab wrote on given Q, K, V: the independent side of BertLab's test that every
registry entry's Python lowering computes BertLab's attention.
usage: python3 bertlab_attention_cases.py CODE_DIR JOBS_JSON
  JOBS_JSON: [{"attention": CONFIG_ATTENTION_VALUE, "heads": H, "inputs": SAFETENSORS, "output": SAFETENSORS}, ...]
  inputs: query, key, value (B, H, S, d), attention_mask (B, S) int64, and param.NAME for the mechanism's parameters
  output: output (B, H, S, d) and init.NAME, the initial value of each parameter BertLabSelfAttention creates"""
import importlib.util
import json
import sys

import torch

import safetensors_io

code_dir, jobs_path = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("bertlab_attention", f"{code_dir}/bertlab_attention.py")
bertlab_attention = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bertlab_attention)   # the file BertLab wrote

with torch.no_grad():
    for job in json.load(open(jobs_path)):
        t = safetensors_io.load(job["inputs"])
        params = {k[len("param."):]: v for k, v in t.items() if k.startswith("param.")}
        mechanism = bertlab_attention.spec_from_config(job["attention"])
        out = bertlab_attention.attention(mechanism, t["query"], t["key"], t["value"], t["attention_mask"], params)
        H, d = t["query"].shape[1], t["query"].shape[3]
        module = bertlab_attention.BertLabSelfAttention(H * d, job["heads"], job["attention"])
        result = {"output": out}
        result.update({"init." + n: p for n, p in module.named_parameters(recurse=False)})
        safetensors_io.save(job["output"], result)
print(f"{len(json.load(open(jobs_path)))} cases")
