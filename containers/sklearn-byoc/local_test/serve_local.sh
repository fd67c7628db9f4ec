#!/usr/bin/env bash
# Serve the model that train_local.sh made, on http://localhost:8080 (Ctrl+C stops it):
#   ./serve_local.sh [IMAGE]
set -euo pipefail
cd "$(dirname "$0")"
IMAGE="${1:-sagemaker-workshop/sklearn-byoc:latest}"
docker run --rm -p 8080:8080 -e SERVER_ACCESS_LOG=1 -v "$PWD/test_dir/model:/opt/ml/model:ro" "$IMAGE" serve
