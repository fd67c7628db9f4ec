"""Delete everything a lab created: running jobs, endpoints, endpoint configs, models, local containers.

Safe to run twice, and registered to run at interpreter exit, so a notebook that fails midway
(papermill stops at the failing cell, then shuts the kernel down) still leaves nothing behind.
A kernel killed by a signal runs no exit hook: that is what the tags are for (see sweep.py).
"""
import atexit
import subprocess
from pathlib import Path

from botocore.exceptions import ClientError

from . import docker_run, images

# In this order: a running job is stopped first (a tuning job before the training jobs it starts); an
# endpoint uses a config, which uses a model. A kind is named as boto3 names its calls (stop_<kind>, ...).
DELETE_ORDER = ("hyper_parameter_tuning_job", "training_job", "processing_job", "transform_job", "endpoint",
                "endpoint_config", "model")
JOB_KINDS = ("hyper_parameter_tuning_job", "training_job", "processing_job", "transform_job")
NAME_KEYS = {"hyper_parameter_tuning_job": "HyperParameterTuningJobName",
             "training_job": "TrainingJobName", "processing_job": "ProcessingJobName",
             "transform_job": "TransformJobName", "endpoint": "EndpointName",
             "endpoint_config": "EndpointConfigName", "model": "ModelName"}
STATUS_KEYS = {"hyper_parameter_tuning_job": "HyperParameterTuningJobStatus", "training_job": "TrainingJobStatus",
               "processing_job": "ProcessingJobStatus", "transform_job": "TransformJobStatus"}
COMPOSE_DIR_LABEL = "com.docker.compose.project.working_dir"
SESSION_LABEL = "workshop.session"  # on the containers SageMaker local mode starts for a lab session

# Tags on every AWS resource a lab creates in aws mode (sweep.py finds them by the first one).
WORKSHOP_TAG_KEY, WORKSHOP_TAG_VALUE = "workshop", "sagemaker-domain3-modeling"
LAB_TAG_KEY, SESSION_TAG_KEY = "workshop:lab", "workshop:session"


def workshop_tags(lab, session_id):
    return [{"Key": WORKSHOP_TAG_KEY, "Value": WORKSHOP_TAG_VALUE}, {"Key": LAB_TAG_KEY, "Value": lab},
            {"Key": SESSION_TAG_KEY, "Value": session_id}]


# Whether new Cleanup objects also run when the interpreter exits. The unit tests turn it off (conftest.py):
# a fake session's hook must never reach a real service.
AT_EXIT = True


class Cleanup:
    def __init__(self, sagemaker_client, local_root=None, session_id=None, say=print):
        self.client = sagemaker_client
        self.local_root = Path(local_root) if local_root else None
        self.session_id = session_id
        self.say = say
        self.created = {kind: [] for kind in DELETE_ORDER}
        if AT_EXIT:
            atexit.register(self._run_at_exit)

    def _run_at_exit(self):
        try:
            self.run(quiet=True)
        except Exception as err:  # at exit there is nobody left to catch it: say what stays behind
            print(f"cleanup at exit failed, delete these by hand: {self.created}: {err}")

    def add(self, kind, name):
        """Remember a resource so cleanup deletes it; returns NAME for use inline."""
        if kind not in self.created:
            raise ValueError(f"kind must be one of {DELETE_ORDER}, not {kind!r}")
        if name not in self.created[kind]:
            self.created[kind].append(name)
        return name

    def _delete(self, kind, name):
        try:
            if kind in JOB_KINDS:
                return stop_job(self.client, kind, name)
            getattr(self.client, f"delete_{kind}")(**{NAME_KEYS[kind]: name})
            return True
        except ClientError as err:
            message = str(err)
            if "Could not find" in message or "does not exist" in message:
                return False  # already gone: cleanup is re-runnable
            raise

    def delete(self, kind, name):
        """Delete (or stop) one resource now, and take it off the list."""
        if kind not in self.created:
            raise ValueError(f"kind must be one of {DELETE_ORDER}, not {kind!r}")
        deleted = self._delete(kind, name)
        if name in self.created[kind]:
            self.created[kind].remove(name)
        if deleted:
            self.say(f"cleanup: {'stopped' if kind in JOB_KINDS else 'deleted'} {kind} {name}")
        return deleted

    def run(self, quiet=False):
        """Stop running jobs, delete what was created (newest first), remove this lab's local containers."""
        removed = []
        for kind in DELETE_ORDER:
            for name in reversed(self.created[kind]):
                if self._delete(kind, name):
                    removed.append(f"{'stopped ' if kind in JOB_KINDS else ''}{kind} {name}")
            self.created[kind].clear()
        containers = self.remove_local_containers()
        if containers:
            removed.append(f"{len(containers)} local container(s)")
        if not quiet:
            self.say("cleanup: " + ("; ".join(removed) if removed else "nothing left to delete"))
        return removed

    def remove_local_containers(self):
        """Remove the containers local mode left for this lab (it stops, never removes)."""
        containers = self.local_containers()
        if containers:
            subprocess.run(["docker", "rm", "-f", *containers], capture_output=True)
        return containers

    def local_containers(self):
        """Containers (running or stopped) local mode started for this lab: training jobs under its root,
        endpoints and other jobs by the session label (their files may live elsewhere, e.g. ~/tmp in Studio)."""
        found = set()
        if self.local_root is not None:
            found.update(containers_under(self.local_root))
        if self.session_id is not None:
            found.update(containers_labelled(SESSION_LABEL, self.session_id))
        return sorted(found)


def stop_job(client, kind, name):
    """Stop a job that is still running; True when a stop was requested. Local mode's jobs have ended
    by the time their create call returns, and its client has no stop_* calls."""
    stop = getattr(client, f"stop_{kind}", None)
    if stop is None:
        return False
    status = getattr(client, f"describe_{kind}")(**{NAME_KEYS[kind]: name})[STATUS_KEYS[kind]]
    if status != "InProgress":
        return False
    stop(**{NAME_KEYS[kind]: name})
    return True


def _docker_ps(filters, include_stopped=True, fmt="{{.ID}}"):
    cmd = ["docker", "ps", "--format", fmt] + (["-a"] if include_stopped else [])
    for f in filters:
        cmd += ["--filter", f]
    return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()


def containers_labelled(label, value):
    return _docker_ps([f"label={label}={value}"])


def containers_under(root):
    """IDs of docker-compose containers whose compose file lives under ROOT."""
    root = str(Path(root).resolve())
    ids = []
    for line in _docker_ps([f"label={COMPOSE_DIR_LABEL}"], fmt="{{.ID}} {{.Label \"" + COMPOSE_DIR_LABEL + "\"}}"):
        container, _, folder = line.partition(" ")
        if folder == root or folder.startswith(root + "/"):
            ids.append(container)
    return ids


def workshop_containers(include_stopped=False):
    """Containers of any workshop image, hand run or lab session (tests assert none is running after a lab)."""
    ids = set()
    for label in (images.INPUTS_LABEL, docker_run.RUN_LABEL, SESSION_LABEL):
        ids.update(_docker_ps([f"label={label}"], include_stopped=include_stopped))
    return sorted(ids)


def remove_workshop_containers():
    ids = workshop_containers(include_stopped=True)
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
    return ids
