#!/usr/bin/env bash
# Installs Node.js (Debian's, when node is missing) and the npm packages of tests/js (package.json +
# package-lock.json, exactly as locked: npm ci) for the tests that drive real JavaScript clients
# (Hugging Face tokenizers' Node binding, transformers.js). Under CI=true those tests fail when this did not work.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null && command -v npm >/dev/null || bash ./setup.sh nodejs npm
node --version
cd ../tests/js
npm ci --no-audit --no-fund
