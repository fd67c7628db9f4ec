#!/bin/sh
# As the DLC's entrypoint (deep-learning-containers tensorflow/inference/docker/build_artifacts/
# dockerd-entrypoint.py): the command runs as given; SageMaker's is `serve`, which is on PATH.
if [ "$#" -eq 0 ]; then
  set -- serve
fi
exec "$@"
