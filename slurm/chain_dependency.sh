#!/bin/bash
# The same chain without requeueing (for clusters that forbid --requeue): submit N jobs,
# each starting after the previous one ends, whatever its state (afterany). Each job
# continues from the newest checkpoint; once the run has finished the later jobs find
# t_end reached and exit at once.
#   bash slurm/chain_dependency.sh examples/growth_inhibition.toml $SCRATCH/gi 5
set -euo pipefail
CONFIG=${1:?usage: chain_dependency.sh CONFIG OUTDIR N}
OUTDIR=${2:?usage: chain_dependency.sh CONFIG OUTDIR N}
N=${3:-5}
previous=""
for ((i = 1; i <= N; i++)); do
  dependency=()
  [ -n "$previous" ] && dependency=(--dependency=afterany:$previous)
  previous=$(sbatch --parsable "${dependency[@]}" --signal=B:USR1@120 slurm/run_signal.sbatch "$CONFIG" "$OUTDIR")
  echo "submitted job $previous (link $i of $N)"
done
