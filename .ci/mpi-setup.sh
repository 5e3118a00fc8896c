#!/usr/bin/env bash
# Installs Open MPI (mpirun and libmpi.so.40) for the data-parallel tests (tests/BertLab.Tests/Distributed,
# [Trait("Category","Mpi")]); they are skipped with a message where mpirun is missing. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
bash ./setup.sh openmpi-bin libopenmpi-dev
command -v mpirun >/dev/null && mpirun --version | head -n 1
