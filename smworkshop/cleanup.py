"""Delete everything a lab created: endpoints, endpoint configs, models, and local containers.

Safe to run twice, and registered to run at interpreter exit, so a notebook that fails midway
(papermill stops at the failing cell, then shuts the kernel down) still leaves nothing behind.
"""
import atexit
import subprocess
from pathlib import Path

from botocore.exceptions import ClientError

from . import docker_run, images

# Delete in this order: an endpoint uses a config, which uses a model.
DELETE_ORDER = ("endpoint", "endpoint_config", "model")
COMPOSE_DIR_LABEL = "com.docker.compose.project.working_dir"


class Cleanup:
    def __init__(self, sagemaker_client, local_root=None, say=print):
        self.client = sagemaker_client
        self.local_root = Path(local_root) if local_root else None
        self.say = say
        self.created = {kind: [] for kind in DELETE_ORDER}
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
        call = getattr(self.client, f"delete_{kind}")
        key = {"endpoint": "EndpointName", "endpoint_config": "EndpointConfigName", "model": "ModelName"}[kind]
        try:
            call(**{key: name})
            return True
        except ClientError as err:
            message = str(err)
            if "Could not find" in message or "does not exist" in message:
                return False  # already gone: cleanup is re-runnable
            raise

    def run(self, quiet=False):
        """Delete what was created (newest first) and remove this lab's local containers."""
        removed = []
        for kind in DELETE_ORDER:
            for name in reversed(self.created[kind]):
                if self._delete(kind, name):
                    removed.append(f"{kind} {name}")
            self.created[kind].clear()
        containers = self.remove_local_containers()
        if containers:
            removed.append(f"{len(containers)} local container(s)")
        if not quiet:
            self.say("cleanup: " + ("; ".join(removed) if removed else "nothing left to delete"))
        return removed

    def remove_local_containers(self):
        """Remove the containers local mode left under this lab's root (it stops, never removes)."""
        containers = self.local_containers()
        if containers:
            subprocess.run(["docker", "rm", "-f", *containers], capture_output=True)
        return containers

    def local_containers(self):
        """Containers (running or stopped) that local mode started under this lab's root."""
        if self.local_root is None:
            return []
        return containers_under(self.local_root)


def containers_under(root):
    """IDs of docker-compose containers whose compose file lives under ROOT."""
    result = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={COMPOSE_DIR_LABEL}",
         "--format", "{{.ID}} {{.Label \"" + COMPOSE_DIR_LABEL + "\"}}"],
        capture_output=True, text=True)
    root = str(Path(root).resolve())
    ids = []
    for line in result.stdout.splitlines():
        container, _, folder = line.partition(" ")
        if folder == root or folder.startswith(root + "/"):
            ids.append(container)
    return ids


def workshop_containers(include_stopped=False):
    """Containers of any workshop image or hand run (tests assert none is running after a lab)."""
    ids = set()
    for label in (images.INPUTS_LABEL, docker_run.RUN_LABEL):
        cmd = ["docker", "ps", "-q", "--filter", f"label={label}"] + (["-a"] if include_stopped else [])
        ids.update(subprocess.run(cmd, capture_output=True, text=True).stdout.split())
    return sorted(ids)


def remove_workshop_containers():
    ids = workshop_containers(include_stopped=True)
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
    return ids
