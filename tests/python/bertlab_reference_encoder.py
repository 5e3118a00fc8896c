"""A BERT encoder in plain PyTorch around the bertlab_attention.py that BertLab wrote into a model directory: the
independent side of BertLab's test that the shipped attention code computes BertLab's attention.
usage: python3 bertlab_reference_encoder.py JOBS_JSON
  JOBS_JSON: [{"model": MODEL_DIR, "code": DIR_WITH_bertlab_attention.py, "input": INPUT_JSON, "output": OUTPUT_JSON}, ...]
  INPUT_JSON: {"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]]}
  OUTPUT_JSON: {"hidden_states": [ (B, S, D) nested lists for the embeddings and every layer ]}"""
import json
import sys

import torch
import torch.nn.functional as F

import safetensors_io

import importlib.util


def run(model_dir, code_dir, input_path, output_path):
    spec = importlib.util.spec_from_file_location("bertlab_attention", f"{code_dir}/bertlab_attention.py")
    bertlab_attention = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bertlab_attention)   # the file BertLab wrote
    config = json.load(open(f"{model_dir}/config.json"))
    w = {k[5:] if k.startswith("bert.") else k: v for k, v in safetensors_io.load(f"{model_dir}/model.safetensors").items()}
    inputs = json.load(open(input_path))
    ids = torch.tensor(inputs["input_ids"])
    mask = torch.tensor(inputs["attention_mask"])
    types = torch.tensor(inputs["token_type_ids"])
    eps = config.get("layer_norm_eps", 1e-12)
    D = config["hidden_size"]


    def ln(x, prefix):
        return F.layer_norm(x, (D,), w[prefix + ".weight"], w[prefix + ".bias"], eps)


    def lin(x, prefix):
        return F.linear(x, w[prefix + ".weight"], w[prefix + ".bias"])


    with torch.no_grad():
        S = ids.shape[1]
        h = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][torch.arange(S)].unsqueeze(0) \
            + w["embeddings.token_type_embeddings.weight"][types]
        h = ln(h, "embeddings.LayerNorm")
        states = [h]
        for i in range(config["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            attn = bertlab_attention.BertLabSelfAttention(D, config["num_attention_heads"], config.get("attention"))
            own = {n: w[p + "attention.self." + n] for n, _ in attn.state_dict().items()}
            attn.load_state_dict(own)
            ctx, _ = attn(h, mask)
            a = ln(lin(ctx, p + "attention.output.dense") + h, p + "attention.output.LayerNorm")
            inter = F.gelu(lin(a, p + "intermediate.dense"))
            h = ln(lin(inter, p + "output.dense") + a, p + "output.LayerNorm")
            states.append(h)
        json.dump({"hidden_states": [s.tolist() for s in states]}, open(output_path, "w"))
    print(f"{len(states)} hidden states, attention {bertlab_attention.spec_from_config(config.get('attention'))}")


for job in json.load(open(sys.argv[1])):
    run(job["model"], job["code"], job["input"], job["output"])
