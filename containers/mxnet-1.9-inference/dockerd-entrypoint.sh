#!/bin/sh
# As the DLC's entrypoint (deep-learning-containers mxnet/inference/docker/artifacts/mms-entrypoint.py):
# `serve` starts the model server, any other command runs. Unlike it, the command runs as given (the DLC joins
# and re-splits it with shlex) and the container then exits (the DLC idles on `tail -f /dev/null`): README,
# differences.
if [ "${1:-serve}" = "serve" ]; then
  exec serve
fi
exec "$@"
