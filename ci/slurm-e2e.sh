#!/usr/bin/env bash
# The leaderboard workflow on a real single-node SLURM cluster (issue 19), as `.ci/run` runs it:
#
#   - ci/slurm.sh installs Debian's slurm-wlm and munge with apt-get if slurmctld is missing,
#     writes the cluster's slurm.conf and starts munged, slurmctld and slurmd, unless a cluster of
#     ci/slurm.sh is up already (then it is left running);
#   - ci/workflow-e2e.sh --slurm runs the local phases first (the unsharded `cpbench leaderboard`,
#     the workflow with the local executor), then the workflow with workflow/profiles/slurm: every
#     job goes through sbatch, the bbbc021-moa pairs as 3 parts and a merge each, one evaluation
#     as 3 parts; its leaderboard and results must equal the unsharded local ones (results byte
#     for byte, timing aside), and a rerun on SLURM must be fully cached;
#   - the daemons this run started, and only those, are stopped at the end, pass or fail.
#
#   ci/slurm-e2e.sh [--cpbench PATH]      (needs root; takes about 4 minutes once installed)
set -euo pipefail
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/workflow-e2e.sh" --slurm "$@"
