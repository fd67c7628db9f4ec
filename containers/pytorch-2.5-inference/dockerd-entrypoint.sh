#!/bin/sh
# As the DLC's entrypoint (deep-learning-containers pytorch/inference/docker/build_artifacts/
# torchserve-entrypoint.py): `serve` starts the model server, any other command runs as given.
if [ "${1:-serve}" = "serve" ]; then
  exec serve
fi
exec "$@"
