#!/bin/bash
# Submit a sweep by hand: the job array of all tasks, then the gather job
# with an afterany dependency (it starts when every task has ended, also when
# some failed, and then lists the failed ones and exits 1; afterok would leave
# it pending forever, DependencyNeverSatisfied). Extra sbatch options
# (partition, account, time) go in SBATCH_ARGS.
#
#   jobs/submit_sweep.sh my_sweep.yaml
#   SBATCH_ARGS="--partition=short --time=00:20:00" jobs/submit_sweep.sh my_sweep.yaml
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tomocell=${TOMOCELL:-$here/../build/tomocell}
# the jobs inherit this environment (sbatch --export=ALL): the same executable,
# also when this is run from outside the repository
TOMOCELL=$(cd "$(dirname "$tomocell")" && pwd)/$(basename "$tomocell")
export TOMOCELL
tomocell=$TOMOCELL
sweep=${1:?usage: jobs/submit_sweep.sh SWEEP.yaml}
n=$("$tomocell" sweep "$sweep" | sed -n 's/.*: \([0-9]*\) task(s) of.*/\1/p')
[ -n "$n" ] || { echo "cannot expand $sweep" >&2; exit 1; }
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array=0-$((n - 1)) "$here/sweep.sbatch" "$sweep")
gather=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency=afterany:"$array" "$here/gather.sbatch" "$sweep")
echo "submitted array job $array ($n tasks) and gather job $gather (afterany)"
