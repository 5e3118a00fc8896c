#!/usr/bin/env bash
# Two BertLab.Cli builds side by side, alternating, REPS times: import of MiniLM (convert .onnx -> checkpoint) and
# export of the imported checkpoint to ONNX; wall, CPU (user + system) and peak RSS from /usr/bin/time -v.
# Usage: compare.sh REPS OLD_BUILD_DIR NEW_BUILD_DIR MODEL.onnx WORK_DIR   (a build dir holds BertLab.Cli.dll)
set -euo pipefail
reps=$1; old=$2; new=$3; src=$4; work=$5
mkdir -p "$work"
export OMP_WAIT_POLICY=PASSIVE
one() { # label dir verb...
  label=$1; dir=$2; shift 2
  /usr/bin/time -v nice -n 5 dotnet $dir/BertLab.Cli.dll "$@" > $work/log-$label.txt 2> $work/time-$label.txt
  t=$work/time-$label.txt
  w=$(grep "Elapsed (wall" $t | awk '{print $NF}'); m=$(grep "Maximum resident" $t | awk '{print $NF}')
  u=$(grep "User time" $t | awk '{print $NF}'); sy=$(grep "System time" $t | awk '{print $NF}')
  echo "$r $label wall=$w cpu=$(echo "$u + $sy" | bc) maxrss_kb=$m load=$(cut -d' ' -f1 /proc/loadavg)"
}
for r in $(seq 1 $reps); do
  for spec in old=$old new=$new; do
    l=${spec%%=*}; d=${spec#*=}
    rm -rf $work/ck-$l $work/ex-$l
    one import-$l $d convert $src $work/ck-$l
    one export-$l $d export onnx $work/ck-$l --out $work/ex-$l
  done
done
cmp $work/ck-old/model.safetensors $work/ck-new/model.safetensors && echo "imported weights identical"
ls -l $work/ex-old/onnx/model.onnx $work/ex-new/onnx/model.onnx
