"""torch.save(state_dict) of a model.safetensors: makes a Hugging Face pytorch_model.bin for BertLab's tests.
usage: python3 save_pytorch_bin.py model.safetensors pytorch_model.bin"""
import sys

import torch

import safetensors_io

state = safetensors_io.load(sys.argv[1])
torch.save(state, sys.argv[2])
print(f"{len(state)} tensors -> {sys.argv[2]}")
