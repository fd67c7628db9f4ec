#!/bin/sh
# SageMaker hosting runs `docker run IMAGE serve`. This image cannot train: say so instead of failing oddly.
case "${1:-serve}" in
  serve) exec serve ;;
  train) echo "this is an inference-only image: it has no training code (Lab 02 trains outside SageMaker)" >&2
         mkdir -p /opt/ml/output && echo "ClientError: inference-only image, cannot train" > /opt/ml/output/failure
         exit 2 ;;
  *) exec "$@" ;;
esac
