#!/bin/bash
# Chapter 01's corpus pass at `full` on SLURM: read -> clean -> MinHash deduplicate -> score -> keep P(HIGH) > 0.9.
# datatrove writes one sbatch script per stage (runs/full/01_data/corpus_on_slurm/logs/<stage>/launch_script.slurm) and
# submits them as job arrays, each depending on the one before, plus a job per stage that merges its statistics.
# Run on a login node (not inside a job), from any folder, after chapter 01 ran at `full` (its
# quality_classifier.ubj, and topic_classifier.pkl for the categories):
#   bash bielik/launch/corpus_pipeline.sh --partition cpu --time 24:00:00 --tasks 500
#   bash bielik/launch/corpus_pipeline.sh --dry-run     # write and print the job scripts, submit nothing
# Resubmitting skips the tasks datatrove finds completed in the logging folders; with changed parameters the
# stages they affect start afresh. Every flag: python -m bielik.data.corpus_pipeline --help
set -euo pipefail
cd "$(dirname "$0")/../.."
source .venv/bin/activate
exec python -m bielik.data.corpus_pipeline --run-dir runs/full "$@"
