#!/usr/bin/env bash
# One command on a fresh machine: install, then run the whole pipeline locally on the
# bundled sample (ingest -> validate -> train -> evaluate -> register in MLflow).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000
.venv/bin/chatloop pipeline run "$@"
echo
echo "Next: .venv/bin/chatloop models            # versions, aliases, gate results"
echo "      .venv/bin/chatloop promote           # make the challenger the champion"
echo "      .venv/bin/chatloop classify --model models:/chatloop@champion --input in.jsonl --output out.jsonl"
