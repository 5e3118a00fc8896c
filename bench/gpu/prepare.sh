#!/usr/bin/env bash
# Packs bertlab into .gpu/ (git-ignored) for a CUDA machine that has PyTorch (and so a CUDA libtorch) but no .NET:
# TorchSharp 0.107's native bridge (libLibTorchSharp.so, built for libtorch 2.10) loads against an installed
# PyTorch's libtorch (seen on an H200 with PyTorch 2.11: CUDA available, 787 TFLOP/s bf16 matmul).
#
# Usage, from the repository root:   bash bench/gpu/prepare.sh [extra dotnet publish args]
# Then on the GPU machine, from a copy of the checkout that includes .gpu/:
#   bash .gpu/run.sh train --device cuda --precision bf16 ...
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
gpu="$root/.gpu"
rm -rf "$gpu/app"; mkdir -p "$gpu"
dotnet publish "$root/src/BertLab.Cli/BertLab.Cli.csproj" -c Release -r linux-x64 --self-contained false -o "$gpu/app" "$@" >/dev/null
# The CPU libtorch is not used there (PyTorch's CUDA libtorch is): drop it to stay small (~31 MB in all).
for p in 'libtorch*.so*' 'libc10*.so*' 'libgomp*.so*' 'libiomp*.so*' 'libaoti*.so' 'libbackend_with_compiler.so' 'libjitbackend_test.so' 'libnnapi_backend.so' 'libshm.so'; do
  find "$gpu/app" -name "$p" -delete
done
rm -rf "$gpu/app/runtimes/"{osx,osx-arm64,osx-x64,win-arm64,win-x64,win-x86} 2>/dev/null || true
# Published copies carry data/ (the embedded defaults, 21 MB); here the checkout beside .gpu/ has them (DataPaths walks up).
rm -rf "$gpu/app/data"
# A .NET runtime to unpack there (the GPU machine need not have one).
if [ ! -f "$gpu/dotnet.tar.xz" ]; then
  d=$(dirname "$(readlink -f "$(command -v dotnet)")")
  t=$(mktemp -d); mkdir -p "$t/dn/host" "$t/dn/shared"
  cp -a "$d/dotnet" "$t/dn/"; cp -a "$d/host/fxr" "$t/dn/host/"; cp -a "$d/shared/Microsoft.NETCore.App" "$t/dn/shared/"
  tar cf - -C "$t" dn | xz -T2 -6 > "$gpu/dotnet.tar.xz"; rm -rf "$t"
fi
cat > "$gpu/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs the published bertlab on the GPU machine with the machine's own (PyTorch's) CUDA libtorch.
set -e
here=$(cd "$(dirname "$0")" && pwd)
[ -x /tmp/dn/dotnet ] || tar xJf "$here/dotnet.tar.xz" -C /tmp
tl=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
native=$(dirname "$(find "$here/app" -name libLibTorchSharp.so | head -1)")
export DOTNET_ROOT=/tmp/dn LD_LIBRARY_PATH="$tl:$native:${LD_LIBRARY_PATH:-}"
exec /tmp/dn/dotnet "$here/app/BertLab.Cli.dll" "$@"
RUN
chmod +x "$gpu/run.sh"
du -sh "$gpu"
echo "ready: on the GPU machine run 'bash .gpu/run.sh <bertlab arguments> --device cuda'"
