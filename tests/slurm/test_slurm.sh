#!/bin/bash
# A real Slurm test: start a one-node Slurm cluster on this machine (munged,
# slurmctld and slurmd from Debian's slurm-wlm and munge, as plain background
# daemons under a temporary directory), then
#   1. sbatch jobs/run.sbatch with --ntasks=2: the demo foil under srun -n 2;
#   2. tomocell sweep -slurm: a 4-task job array plus a gather job that starts
#      afterany, and check that every task is done and gathered;
#   3. jobs/submit_sweep.sh;
#   4. jobs/cell_restart.sbatch: scancel --signal=USR1 reaches tomocell cell
#      through srun, it checkpoints and exits 3, the script resubmits itself
#      with -restart, and the second job's CSV equals an uninterrupted run's;
#   5. the tomocell run restart chain: jobs/run.sbatch submitted from a
#      directory outside the repository with a deck relative to it; SIGUSR1
#      (what --signal=USR1@300 sends) stops the coupled run on 2 ranks, it
#      checkpoints and exits 3, the script resubmits itself with -restart and
#      ends COMPLETED; the second part completes, its summary.csv equals an
#      uninterrupted run's and no checkpoint.h5 is left;
#   6. a sweep with a failing task under -slurm: the gather job (afterany)
#      still runs, lists the failed task with its error and ends FAILED; no job
#      is left pending (DependencyNeverSatisfied);
# and stop the daemons. Where Slurm cannot run here it reports a skip (exit
# 77) with the reason, never a pass.
#
# usage: test_slurm.sh TOMOCELL SOURCE_DIR
set -u
tomocell=$1
src=$2
PATH=$PATH:/usr/sbin:/sbin
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; for f in "$T"/*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }

for c in munged slurmctld slurmd sbatch srun sinfo scontrol; do
  command -v "$c" >/dev/null || skip "$c is not installed (apt-get install slurm-wlm munge)"
done
[ "$(id -u)" = 0 ] || skip "the test cluster runs slurmd as root; run the tests as root"

T=$(mktemp -d /tmp/tc-slurm.XXXXXX)
chmod 755 "$T"
pids=()
cleanup() {
  scontrol shutdown >/dev/null 2>&1
  sleep 1
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

host=$(hostname -s)
ncpu=$(nproc)
port=$((20000 + RANDOM % 20000))

mkdir -p "$T/munge" "$T/state" "$T/spool"
chmod 755 "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$T/munge/munge.key"
munged --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.sock" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munged.log" --seed-file="$T/munge/seed" \
  || skip "munged does not start here: $(tail -n 2 "$T/munged.log" 2>/dev/null)"
pids+=("$(cat "$T/munge/munged.pid")")

cat >"$T/slurm.conf" <<CONF
ClusterName=tctest
SlurmctldHost=$host
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
ReturnToService=2
SlurmdTimeout=30
FirstJobId=$((1000 + RANDOM))
NodeName=$host CPUs=$ncpu State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
# PMIx directories per cluster, so that two test clusters on one machine
# (parallel ctest runs) do not share them
mkdir -p "$T/pmix"
echo "PMIxCliTmpDirBase=$T/pmix" >"$T/mpi.conf"
export SLURM_CONF=$T/slurm.conf

slurmctld -D -i -f "$SLURM_CONF" >"$T/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" >"$T/slurmd.out" 2>&1 &
pids+=($!)
for i in $(seq 60); do
  state=$(sinfo -h -o %T 2>/dev/null)
  [ "$state" = idle ] && break
  sleep 1
done
[ "$state" = idle ] || skip "the local Slurm node did not come up (state '$state'): $(tail -n 3 "$T/slurmctld.log" "$T/slurmd.log" 2>/dev/null | tr '\n' ' ')"
echo "local Slurm cluster up: node $host, $ncpu CPUs, port $port"

jobstate() { scontrol show job -o "$1" 2>/dev/null | sed -n 's/.* JobState=\([A-Z_]*\).*/\1/p'; }

# 1. an MPI job on 2 ranks through jobs/run.sbatch (srun inside)
cd "$T"
TOMOCELL=$tomocell sbatch --wait --ntasks=2 --output="$T/run.log" "$src/jobs/run.sbatch" \
  "$src/inputs/foil_demo.yaml" -foil_ns 201 -foil_nz 21 -output "$T/run-out" >/dev/null \
  || fail "sbatch jobs/run.sbatch failed"
grep -q '"ranks": 2' "$T/run-out/summary.json" 2>/dev/null || fail "the srun job did not run on 2 ranks"
grep -q "effective resistance" "$T/run.log" || fail "no result in the job log"
echo "ok   sbatch --ntasks=2 jobs/run.sbatch: srun ran tomocell on 2 ranks"

# 2. a sweep as a job array plus a gather job (afterany)
cat >"$T/sw.yaml" <<YAML
sweep:
  command: run
  input: $src/inputs/foil_demo.yaml
  output: $T/sweep
parameters:
  foil_thickness_m: [10e-6, 20e-6]
  load_current_A: [1, 2]
  foil_ns: [41]
  foil_nz: [5]
gather:
  outputs: [results.effective_resistance_ohm]
YAML
"$tomocell" sweep "$T/sw.yaml" -slurm >"$T/submit.log" 2>&1 || fail "tomocell sweep -slurm: $(cat "$T/submit.log")"
cat "$T/submit.log"
for i in $(seq 180); do
  [ -f "$T/sweep/results.csv" ] && break
  # nothing left that can run (a failed array leaves the gather job waiting forever)
  [ "$(squeue -h -o %r 2>/dev/null | grep -vc DependencyNeverSatisfied)" = 0 ] && sleep 2 && break
  sleep 1
done
[ -f "$T/sweep/results.csv" ] || fail "the gather job did not run: $(squeue 2>&1 | tail -n 5) $(cat "$T"/sweep/slurm-*.log 2>/dev/null | tail -n 5)"
done_tasks=$(grep -c ',done,' "$T/sweep/results.csv")
[ "$done_tasks" = 4 ] || fail "$done_tasks of 4 array tasks done: $(cat "$T/sweep/results.csv")"
echo "ok   4-task job array and afterany gather: $(tr '\n' ' ' <"$T/sweep/results.csv")"

# 3. the hand-submission scripts: jobs/submit_sweep.sh (jobs/sweep.sbatch + jobs/gather.sbatch)
sed -e "s#$T/sweep#$T/sweep2#" -e 's/\[10e-6, 20e-6\]/[15e-6]/' "$T/sw.yaml" >"$T/sw2.yaml"
TOMOCELL=$tomocell SBATCH_ARGS="--chdir=$T --output=$T/hand-%j.log" bash "$src/jobs/submit_sweep.sh" "$T/sw2.yaml" \
  || fail "jobs/submit_sweep.sh failed"
for i in $(seq 120); do
  [ -f "$T/sweep2/results.csv" ] && break
  [ "$(squeue -h -o %r 2>/dev/null | grep -vc DependencyNeverSatisfied)" = 0 ] && sleep 2 && break
  sleep 1
done
[ "$(grep -c ',done,' "$T/sweep2/results.csv" 2>/dev/null)" = 2 ] || fail "jobs/submit_sweep.sh: not 2 tasks done"
echo "ok   jobs/submit_sweep.sh: 2-task array + gather"

# 4. checkpoint/restart under Slurm: SIGUSR1 to the job's steps, exit 3, resubmission
cellargs=(-model dfn -experiment "Discharge at 1C until 2.5 V; Rest for 10 minutes; Charge at 1C until 4.1 V"
  -cell_dt_max_s 0.5)
"$tomocell" cell "${cellargs[@]}" -output "$T/cell-ref/out.csv" >"$T/cell-ref.log" 2>&1 \
  || fail "reference cell run failed"
jid=$(TOMOCELL=$tomocell CELL_SCRIPT="$src/jobs/cell_restart.sbatch" sbatch --parsable --chdir="$T" \
  --output="$T/cell-%j.log" "$src/jobs/cell_restart.sbatch" "${cellargs[@]}" \
  -output "$T/cell/out.csv" -checkpoint_every 500) || fail "sbatch jobs/cell_restart.sbatch failed"
for i in $(seq 1200); do
  [ -f "$T/cell/checkpoint.h5" ] && break
  sleep 0.05
done
[ -f "$T/cell/checkpoint.h5" ] || fail "jobs/cell_restart.sbatch wrote no checkpoint"
scancel --signal=USR1 "$jid"
for i in $(seq 180); do
  [ -f "$T/cell/out.json" ] && break
  sleep 1
done
grep -q "stopped by SIGUSR1" "$T/cell-$jid.log" || fail "the first job was not stopped by SIGUSR1"
grep -q "part 2 (job " "$T"/*cell-*.log || fail "jobs/cell_restart.sbatch did not resubmit itself"
cmp -s "$T/cell/out.csv" "$T/cell-ref/out.csv" || fail "the restarted CSV differs from the uninterrupted run"
st=$(jobstate "$jid")
[ "$st" = COMPLETED ] || fail "the stopped cell part's job state is '$st', not COMPLETED"
echo "ok   jobs/cell_restart.sbatch: SIGUSR1 through srun, exit 3, resubmitted with -restart, CSV identical; stopped part $st"

# 5. the tomocell run restart chain, submitted from outside the repository
mkdir -p "$T/user/decks"
cat >"$T/user/decks/r.yaml" <<YAML
job: roll
preset: 18650
network:
  ds_m: 20e-3
  nz: 2
model: spme
thermal: network
plots: false
dt_max_s: 2
output_interval_s: 100
experiment: "Discharge at 1C for 20 minutes; Rest for 5 minutes"
YAML
# the repository's own build/tomocell is found through the script's path (scontrol's
# Command=); another build is given with TOMOCELL
tcenv=()
[ "$src/build/tomocell" -ef "$tomocell" ] || tcenv=(TOMOCELL="$tomocell")
cd "$T/user"
# the script named by a relative path (Slurm records it as given)
relscript=$(realpath --relative-to="$T/user" "$src/jobs/run.sbatch")
env "${tcenv[@]}" sbatch --wait --ntasks=2 --output="$T/user/ref.log" "$relscript" decks/r.yaml \
  -output ref >/dev/null || fail "sbatch jobs/run.sbatch (reference run) failed: $(tail -n 5 "$T/user/ref.log")"
[ -f "$T/user/ref/summary.csv" ] || fail "run.sbatch from $T/user: no ref/summary.csv"
echo "ok   jobs/run.sbatch submitted from a directory outside the repository, deck and output relative to it"
t0=$(date +%s)
jid=$(env "${tcenv[@]}" sbatch --parsable --ntasks=2 "$src/jobs/run.sbatch" decks/r.yaml -output chain \
  -checkpoint_every 5) || fail "sbatch jobs/run.sbatch (chain) failed"
for i in $(seq 1200); do
  [ -f "$T/user/chain/checkpoint.h5" ] && break
  sleep 0.05
done
[ -f "$T/user/chain/checkpoint.h5" ] || fail "the run wrote no checkpoint: $(cat "$T/user/tomocell-$jid.log")"
scancel --signal=USR1 "$jid"
for i in $(seq 300); do
  grep -q "part 2: exit status" "$T"/user/tomocell-*.log 2>/dev/null && break
  sleep 1
done
log1=$T/user/tomocell-$jid.log
grep -q "tomocell run: stopped by SIGUSR1" "$log1" || fail "the first part was not stopped by SIGUSR1: $(cat "$log1")"
jid2=$(sed -n 's/.*part 2 submitted as job \([0-9]*\).*/\1/p' "$log1")
[ -n "$jid2" ] || fail "jobs/run.sbatch did not resubmit itself: $(tail -n 5 "$log1")"
grep -q "part 2: exit status 0 (complete)" "$T/user/tomocell-$jid2.log" 2>/dev/null ||
  fail "the second part did not complete: $(cat "$T/user/tomocell-$jid2.log" 2>&1 | tail -n 8)"
for i in $(seq 30); do [ "$(jobstate "$jid2")" = COMPLETED ] && break; sleep 1; done
st1=$(jobstate "$jid")
st2=$(jobstate "$jid2")
[ "$st1" = COMPLETED ] || fail "the stopped part's job state is '$st1', not COMPLETED"
[ "$st2" = COMPLETED ] || fail "the final part's job state is '$st2', not COMPLETED"
grep -q -- "-restart $T/user/chain/checkpoint.h5" "$T/user/tomocell-$jid2.log" ||
  grep -q "restarting from $T/user/chain/checkpoint.h5" "$T/user/tomocell-$jid2.log" ||
  fail "the second part did not restart from the checkpoint"
cmp -s "$T/user/chain/summary.csv" "$T/user/ref/summary.csv" || fail "the restarted run's summary.csv differs from the uninterrupted run's"
ls "$T/user/chain"/checkpoint.h5* >/dev/null 2>&1 && fail "a checkpoint.h5 was left after the completed restart"
echo "ok   tomocell run restart chain: SIGUSR1 -> exit 3 -> resubmitted with -restart; jobs $jid $st1, $jid2 $st2;" \
  "summary.csv identical, no checkpoint left ($(($(date +%s) - t0)) s)"

# 6. a sweep with a failing task: the afterany gather reports it
cat >"$T/swbad.yaml" <<YAML
sweep:
  command: run
  input: $src/inputs/foil_demo.yaml
  output: $T/sweepbad
parameters:
  foil_ns: [41, 1, 61]
  foil_nz: [5]
gather:
  outputs: [results.effective_resistance_ohm]
YAML
"$tomocell" sweep "$T/swbad.yaml" -slurm >"$T/submitbad.log" 2>&1 || fail "tomocell sweep -slurm: $(cat "$T/submitbad.log")"
gjob=$(sed -n 's/.* and gather job \([0-9]*\).*/\1/p' "$T/submitbad.log")
[ -n "$gjob" ] || fail "no gather job id in: $(cat "$T/submitbad.log")"
for i in $(seq 180); do
  gs=$(jobstate "$gjob")
  case "$gs" in COMPLETED|FAILED|CANCELLED|TIMEOUT) break ;; esac
  squeue -h -o %r 2>/dev/null | grep -q DependencyNeverSatisfied && break
  sleep 1
done
squeue -h -o "%i %r" 2>/dev/null | grep DependencyNeverSatisfied && fail "a job pends with DependencyNeverSatisfied"
[ "$gs" = FAILED ] || fail "the gather job of a sweep with a failed task is '$gs', not FAILED"
glog=$(ls "$T"/sweepbad/slurm-gather-*.log 2>/dev/null | head -n 1)
grep -q "task 1 failed (exit 1): tomocell: error: .*foil_ns" "$glog" 2>/dev/null ||
  fail "the gather log does not list the failed task: $(cat "$glog" 2>&1)"
grep -q "1 of 3 task(s) failed" "$glog" || fail "the gather log has no failure summary: $(cat "$glog")"
[ "$(grep -c ',done,' "$T/sweepbad/results.csv" 2>/dev/null)" = 2 ] && grep -q '^1,failed,' "$T/sweepbad/results.csv" ||
  fail "results.csv: $(cat "$T/sweepbad/results.csv" 2>&1)"
echo "ok   sweep with a failing task under -slurm: the afterany gather ran, listed task 1's error and ended FAILED"
exit 0
