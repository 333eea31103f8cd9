#!/usr/bin/env bash
# A real Slurm run of a sweep (issue 15): starts a single-node Slurm cluster
# on this machine from Debian's slurmctld, slurmd and munge packages, with a
# generated slurm.conf on localhost (proctrack/linuxproc, no cgroups),
# submits a 12-cell sweep emitted by `fedsim sweep --emit slurm`, requeues
# one array task while it runs, waits for the dependent merge job, and
# compares sweep.csv and sweep_runs.csv with a local `fedsim sweep` of the
# same file. Prints PASS or FAIL (exit 0 or 1); exit 2 if Slurm cannot be
# brought up at all, with what failed.
#
# Usage: scripts/slurm-test.sh [--smoke] [FEDSIM_BINARY]
#   (default $CARGO_TARGET_DIR or target, /release/fedsim; built with
#   `cargo build --release` if missing)
#   --smoke: only bring the cluster up and run a trivial 4-task array job.
# Needs root, or sudo for apt-get and munged. The daemons are stopped by
# their PIDs when the script exits.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
scenario=$repo/tests/scenarios/slurm_sweep.yaml
cells=12

fail() { echo "FAIL: $*"; exit 1; }
blocked() { echo "BLOCKED: $*"; exit 2; }

if [ "$(id -u)" = 0 ]; then
    SUDO=""
    as_munge() { runuser -u munge -- "$@"; }
else
    SUDO="sudo"
    as_munge() { sudo -u munge "$@"; }
fi

smoke=""
if [ "${1:-}" = --smoke ]; then smoke=1; shift; fi
fedsim=${1:-${CARGO_TARGET_DIR:-$repo/target}/release/fedsim}
if [ -z "$smoke" ] && [ ! -x "$fedsim" ]; then
    echo "--- cargo build --release"
    cargo build --release --quiet
fi
[ -n "$smoke" ] || fedsim=$(realpath "$fedsim")

# 1. The packages (Debian's services are not started on install).
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    echo "--- apt-get install slurmctld slurmd munge"
    $SUDO apt-get update -qq || blocked "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurmctld slurmd munge slurm-client \
        || blocked "apt-get install slurmctld slurmd munge failed"
fi
slurmctld -V

work=$(mktemp -d /tmp/fedsim-slurm.XXXXXX)
chmod 755 "$work"  # munged runs as the munge user
pids=()
cleanup() {
    # Only the daemons this script started, by PID.
    for pid in "${pids[@]}"; do
        $SUDO kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do $SUDO kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    rm -rf "$work"
}
trap cleanup EXIT

# 2. munge: its own socket folder and key, munged as the munge user.
mkdir -p "$work/munge"
chmod 700 "$work/munge"
if [ ! -s /etc/munge/munge.key ]; then
    $SUDO mkdir -p /etc/munge
    $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    $SUDO chown munge:munge /etc/munge/munge.key
    $SUDO chmod 400 /etc/munge/munge.key
fi
# A munged of our own on its own socket, so that a munged already running
# is left alone (and ours can be stopped by its PID).
munge_socket=$work/munge/munge.socket
$SUDO chown munge:munge "$work/munge"
$SUDO mkdir -p /run/munge /var/log/munge /var/lib/munge
$SUDO chown munge:munge /run/munge /var/log/munge /var/lib/munge
as_munge munged --socket="$munge_socket" --pid-file="$work/munge/munged.pid" \
    --seed-file="$work/munge/munged.seed" --log-file="$work/munge/munged.log" --force \
    || blocked "munged did not start: $(cat "$work/munge/munged.log" 2>/dev/null)"
for _ in $(seq 50); do [ -s "$work/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/munge/munged.pid")")
munge -S "$munge_socket" -n </dev/null | unmunge -S "$munge_socket" >/dev/null || blocked "munge round trip failed"

# 3. slurm.conf: one node, this host, every core.
host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
user=$(id -un)
mkdir -p "$work/state" "$work/spool" "$work/log"
conf=$work/slurm.conf
cat >"$conf" <<EOF
ClusterName=fedsimtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$user
SlurmdUser=root
SlurmctldPort=$((20000 + RANDOM % 10000))
SlurmdPort=$((30000 + RANDOM % 10000))
AuthType=auth/munge
AuthInfo=socket=$munge_socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
JobRequeue=1
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
export SLURM_CONF=$conf

slurmctld -D -f "$conf" >"$work/log/slurmctld.stdout" 2>&1 &
pids+=($!)
$SUDO slurmd -D -f "$conf" >"$work/log/slurmd.stdout" 2>&1 &
pids+=($!)

echo "--- waiting for node $host to be idle"
state=""
for _ in $(seq 60); do
    state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 1
done
if [ "$state" != idle ]; then
    tail -n 20 "$work/log/slurmctld.log" "$work/log/slurmd.log" "$work/log/"*.stdout 2>/dev/null || true
    blocked "node $host is '${state:-unknown}' after 60 s, not idle"
fi
sinfo

# Waits until job $1 (and every task of an array) has left the queue.
wait_gone() {
    local job=$1 limit=$2
    for _ in $(seq "$limit"); do
        [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && return 0
        sleep 1
    done
    squeue
    return 1
}

if [ -n "$smoke" ]; then
    mkdir -p "$work/smoke"
    job=$(sbatch --parsable --array=0-3%2 --output="$work/smoke/%a.out" --wrap 'echo task $SLURM_ARRAY_TASK_ID')
    wait_gone "$job" 60 || fail "the smoke array job $job did not finish within 60 s"
    for i in 0 1 2 3; do grep -qx "task $i" "$work/smoke/$i.out" || fail "task $i wrote no output"; done
    echo "PASS: a 4-task array job ran on the single-node cluster"
    exit 0
fi

# 4. The sweep: emit, submit, requeue one running cell, wait for the merge.
sweep=$work/sweep
"$fedsim" sweep "$scenario" --emit slurm "$sweep" --throttle 4
echo "--- $sweep/sweep.sbatch"
cat "$sweep/sweep.sbatch"
submitted=$(bash "$sweep/submit.sh")
echo "$submitted"
array_job=$(echo "$submitted" | sed -n 's/^cells: job \([0-9]*\).*/\1/p')
merge_job=$(echo "$submitted" | sed -n 's/^merge: job \([0-9]*\).*/\1/p')
[ -n "$array_job" ] && [ -n "$merge_job" ] || fail "submit.sh printed no job ids"

# Requeue the first array task seen running: Slurm kills it and runs it
# again; the rerun must leave the same cell as an undisturbed run.
requeued=""
for _ in $(seq 200); do
    task=$(squeue -h -j "$array_job" -t RUNNING -o %i 2>/dev/null | head -n 1)
    if [ -n "$task" ]; then
        sleep 0.3
        if scontrol requeue "$task" 2>/dev/null; then
            requeued=$task
            echo "--- requeued $task while it ran"
            # Slurm holds a requeued job back about two minutes (its
            # BeginTime, set once the killed task has ended); start it as
            # soon as the node has room instead.
            for _ in $(seq 100); do
                [ "$(squeue -h -j "$task" -o %t 2>/dev/null)" = PD ] && break
                sleep 0.1
            done
            sleep 0.5
            scontrol update JobId="$task" StartTime=now || true
            break
        fi
    fi
    sleep 0.1
done
[ -n "$requeued" ] || fail "no array task of job $array_job was seen running to requeue"

wait_gone "$merge_job" 420 || fail "the merge job $merge_job did not finish within 420 s"
echo "--- sacct-less job states (scontrol)"
scontrol show job "$merge_job" | grep -o 'JobState=[A-Z_]*\|ExitCode=[0-9:]*' | tr '\n' ' '
echo
cat "$sweep/logs/merge.out" || true
[ -f "$sweep/sweep.csv" ] || fail "the merge wrote no sweep.csv (see $sweep/logs)"

# The requeued task ran twice (its log is appended to).
restarts=$(scontrol show job "$requeued" 2>/dev/null | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')
echo "--- task $requeued restarts: ${restarts:-unknown}; its log (both attempts):"
cat "$sweep/logs/cell-${requeued#*_}.out" || true
[ "${restarts:-0}" -ge 1 ] || fail "task $requeued was not restarted after its requeue"

# 5. The same sweep run locally.
local_dir=$work/local
"$fedsim" sweep "$scenario" --out "$local_dir" >/dev/null
status=0
for f in sweep.csv sweep_runs.csv; do
    if cmp -s "$local_dir/$f" "$sweep/$f"; then
        echo "same: $f ($(($(wc -l <"$sweep/$f") - 1)) rows)"
    else
        echo "differs: $f"
        diff "$local_dir/$f" "$sweep/$f" | head -n 20 || true
        status=1
    fi
done
rows=$(($(wc -l <"$sweep/sweep_runs.csv") - 1))
[ "$rows" = "$cells" ] || { echo "sweep_runs.csv has $rows rows, expected $cells"; status=1; }
[ "$status" = 0 ] || fail "Slurm's merged sweep differs from the local sweep"
echo "PASS: $cells cells on Slurm (task $requeued requeued mid-run) merge to the local sweep's sweep.csv and sweep_runs.csv"
