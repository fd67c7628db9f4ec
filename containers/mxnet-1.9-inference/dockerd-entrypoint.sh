#!/bin/sh
# As the DLC's entrypoint (sagemaker-mxnet-inference-toolkit docker/artifacts/mms-entrypoint.py): `serve`
# starts the model server, any other command runs as given.
if [ "${1:-serve}" = "serve" ]; then
  exec serve
fi
exec "$@"
