#!/usr/bin/env bash
# Starts a one-node SLURM cluster on localhost (Debian's slurm-wlm + munge) for the [Trait("Category","Slurm")] tests.
# Idempotent: reuses a running cluster. Needs root (apt-get, /etc). Ends when `sinfo` shows the node idle.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for p in slurm-wlm munge; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

cpus=$(nproc)
conf_dir=/etc/slurm
mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
chown -R slurm:slurm /var/spool/slurmctld /var/log/slurm 2>/dev/null || true
cat > "$conf_dir/slurm.conf" <<CONF
ClusterName=bertlab-ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=localhost CPUs=${cpus} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
# slurmd 22.05 always loads a cgroup plugin (autodetected without cgroup.conf) but uses none with these settings
if [ -f "$conf_dir/cgroup.conf" ] && grep -q 'CgroupPlugin=disabled' "$conf_dir/cgroup.conf"; then rm -f "$conf_dir/cgroup.conf"; fi

if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge/munge.key 2>/dev/null || true
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
if ! munge -n >/dev/null 2>&1; then
  if id munge >/dev/null 2>&1; then su -s /bin/sh munge -c /usr/sbin/munged || /usr/sbin/munged --force; else /usr/sbin/munged --force; fi
fi
for i in $(seq 1 20); do munge -n >/dev/null 2>&1 && break; sleep 0.5; done

pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
for i in $(seq 1 60); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)
  if [ "$state" = "idle" ]; then echo "slurm: node localhost idle ($cpus CPUs)"; exit 0; fi
  if [ "$state" = "down" ] || [ "$state" = "drain" ] || [ "$state" = "down*" ]; then scontrol update NodeName=localhost State=RESUME 2>/dev/null || true; fi
  sleep 1
done
echo "slurm: the node did not become idle; sinfo says:" >&2
sinfo -N >&2 || true
tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
