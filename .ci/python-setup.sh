#!/usr/bin/env bash
# Installs Debian's PyTorch (python3-torch 1.13, CPU) for the tests that compare BertLab with PyTorch itself:
# the model directory's PyTorch attention code (bertlab_attention.py) and pytorch_model.bin import.
# Under CI=true those tests fail when this did not work.
set -euo pipefail
cd "$(dirname "$0")"
bash ./setup.sh python3 python3-torch libopenblas0-pthread
/usr/bin/python3 -c "import torch; print('torch', torch.__version__)"
