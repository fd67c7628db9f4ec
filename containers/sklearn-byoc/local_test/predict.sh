#!/usr/bin/env bash
# Send CSV rows to a running serve_local.sh:  ./predict.sh [FILE.csv]  (features only, no label)
set -euo pipefail
cd "$(dirname "$0")"
FILE="${1:-payload.csv}"
curl --fail-with-body -sS -H "Content-Type: text/csv" -H "Accept: text/csv" --data-binary "@$FILE" \
  http://localhost:8080/invocations
