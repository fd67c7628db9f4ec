#!/usr/bin/env bash
# Train with the container by hand, as a SageMaker training job would run it:
#   ./train_local.sh [IMAGE]        (build first: ./workshop setup, from the repository root)
# Makes ./test_dir/ (an /opt/ml tree with the Iris data) and runs `docker run IMAGE train` on it.
set -euo pipefail
cd "$(dirname "$0")"
IMAGE="${1:-sagemaker-workshop/sklearn-byoc:latest}"
PYTHON="../../../.venv/bin/python"
rm -rf test_dir
"$PYTHON" - <<'PY'
from pathlib import Path
import smworkshop as ws
ws.datasets.iris(Path("data"))
ws.opt_ml.prepare(Path("test_dir"), {"max_leaf_nodes": 5}, {"train": Path("data/train")})
print(ws.opt_ml.tree(Path("test_dir")))
PY
docker run --rm -v "$PWD/test_dir:/opt/ml" "$IMAGE" train
ls -l test_dir/model
