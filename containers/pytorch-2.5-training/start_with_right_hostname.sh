#!/usr/bin/env bash
# The entrypoint of the PyTorch training twin, behaving as AWS's PyTorch training DLC's entrypoint of the
# same name (deep-learning-containers pytorch/training/docker/build_artifacts/start_with_right_hostname.sh,
# started as `bash -m start_with_right_hostname.sh`):
# - `train` (how SageMaker starts a job) runs with libcurrenthost.so preloaded, so gethostname() in `train`
#   and in everything it starts, the user's script included, answers the job's current host (algo-1, ...)
#   even when the container's own host name is something else. Arguments after `train` are ignored.
# - any other command goes through `eval`, as in AWS's script: its words are joined and parsed again by the
#   shell, so `python3 -c "import x; print(1)"` breaks there too. Run such commands with --entrypoint.
# SDK v3's ModelTrainer with a SourceCode replaces the entrypoint (/bin/bash + its own driver): this script
# does not run then, on AWS or here.
if [[ "$1" = "train" ]]; then
    LD_PRELOAD=/usr/local/lib/libcurrenthost.so train
else
    eval "$@"
fi
