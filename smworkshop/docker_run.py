"""Run a SageMaker-style container by hand, the way the service does: `train` or `serve`.

Used by Lab 01 to show the contract before any SageMaker API, and by the container tests.
Every container started here carries the label workshop.run so cleanup can find it, and follows the
engine's rules (engine.rules()): in SageMaker Studio it joins the `sagemaker` network and publishes no
port; it shares the app's network namespace, so `serve` binds a free port of its own through
SAGEMAKER_BIND_TO_PORT, which SageMaker's containers honour.
"""
import contextlib
import socket
import subprocess
import time
import uuid
from pathlib import Path

import requests

from . import engine

RUN_LABEL = "workshop.run"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(image, *args, opt_ml_root=None, env=None, network=None, extra_hosts=(), hostname=None):
    """The `docker run --rm ... IMAGE ARGS...` command line (a list) the workshop runs a container by hand
    with: ROOT mounted at /opt/ml, NETWORK (e.g. "none", to show network isolation) instead of the engine's
    network, EXTRA_HOSTS as `name:address` entries, HOSTNAME e.g. a job's `algo-1`. Lab 01 prints and runs it."""
    cmd = ["docker", "run", "--rm", "--label", f"{RUN_LABEL}=train",
           *(["--network", network] if network else engine.rules().network_args()),
           *(["--hostname", hostname] if hostname else []),
           *[arg for host in extra_hosts for arg in ("--add-host", host)]]
    if opt_ml_root:
        # An absolute path: a relative one would be taken for the name of a Docker volume.
        cmd += ["-v", f"{Path(opt_ml_root).resolve()}:/opt/ml"]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    return cmd + [image, *args]


def run(image, *args, timeout=600, **options):
    """Run command(IMAGE, *ARGS, **OPTIONS); returns (exit code, output)."""
    result = subprocess.run(command(image, *args, **options), capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def train(image, opt_ml_root, env=None, timeout=600):
    """`docker run IMAGE train` with ROOT mounted at /opt/ml, as SageMaker starts a training job."""
    return run(image, "train", opt_ml_root=opt_ml_root, env=env, timeout=timeout)


class ServingContainer:
    """A `docker run IMAGE serve` container with a model mounted at /opt/ml/model."""

    def __init__(self, image, model_dir, env=None, port=None, container_port=8080, rules=None):
        self.image, self.model_dir, self.env = image, Path(model_dir).resolve(), dict(env or {})
        self.rules = rules or engine.rules()
        self.container_port = container_port  # 8080 unless SAGEMAKER_BIND_TO_PORT moves it
        self.port = port or free_port()
        if not self.rules.publish_ports:  # one namespace with the caller: the container binds the free port itself
            self.env["SAGEMAKER_BIND_TO_PORT"] = str(self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = f"workshop-serve-{uuid.uuid4().hex[:8]}"

    @property
    def command(self):
        """The `docker run -d ... IMAGE serve` command line (a list) start() runs."""
        cmd = ["docker", "run", "-d", "--name", self.name, "--label", f"{RUN_LABEL}=serve",
               *self.rules.network_args(), "-v", f"{self.model_dir}:/opt/ml/model:ro"]
        if self.rules.publish_ports:
            cmd += ["-p", f"127.0.0.1:{self.port}:{self.container_port}"]
        for key, value in self.env.items():
            cmd += ["-e", f"{key}={value}"]
        return cmd + [self.image, "serve"]

    def start(self, ready_seconds=60):
        started = subprocess.run(self.command, capture_output=True, text=True)
        if started.returncode != 0:
            raise RuntimeError(f"docker run {self.image} serve failed: {started.stderr.strip()}")
        deadline = time.monotonic() + ready_seconds
        last = "no answer yet"
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"serving container exited during start-up:\n{self.logs()}")
            # A server still booting may refuse, reset or not answer in time (a busy machine): every
            # such failure means "not ready yet", until the deadline.
            try:
                status = requests.get(f"{self.url}/ping", timeout=min(2.0, max(0.1, deadline - time.monotonic()))).status_code
                if status == 200:
                    return self
                last = f"last answer {status}"
            except requests.RequestException as err:
                last = f"last attempt: {type(err).__name__}"
            time.sleep(0.25)
        raise TimeoutError(f"/ping did not answer 200 within {ready_seconds} s ({last}):\n{self.logs()}")

    def running(self):
        out = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", self.name],
                             capture_output=True, text=True).stdout.strip()
        return out == "true"

    def logs(self):
        result = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True)
        return (result.stdout + result.stderr)[-5000:]

    def invoke(self, body, content_type="text/csv", accept=None, timeout=60):
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        return requests.post(f"{self.url}/invocations", data=body, headers=headers, timeout=timeout)

    def stop(self):
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True)

    def __enter__(self):
        """`with container:` starts it and waits for /ping; it is always removed afterwards."""
        try:
            return self.start()
        except BaseException:
            self.stop()  # a container that never answered 200 is removed too
            raise

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def serving(image, model_dir, env=None, port=None, container_port=8080):
    """with serving(image, model_dir) as container: container.invoke(...): always removed afterwards."""
    with ServingContainer(image, model_dir, env, port, container_port) as container:
        yield container
