"""`./workshop jupyter` (a laptop) and `./workshop kernel` (Studio): JupyterLab opens on the labs, and the
notebooks' kernel, `sagemaker-workshop`, runs the workshop's own environment."""
import os
import subprocess
import sys
import time

import requests

from smworkshop import docker_run
from smworkshop.__main__ import KERNEL_NAME
from smworkshop.paths import REPO


def test_jupyter_command_serves_the_labs_with_the_workshop_kernel(tmp_path):
    port, token = docker_run.free_port(), "workshop-test-token"
    env = dict(os.environ, HOME=str(tmp_path), JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"))
    server = subprocess.Popen([sys.executable, "-m", "smworkshop", "jupyter", "--no-browser", f"--port={port}",
                               f"--IdentityProvider.token={token}"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    headers = {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                specs = requests.get(f"http://127.0.0.1:{port}/api/kernelspecs", headers=headers, timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s"
                time.sleep(0.5)
        kernel = specs.json()["kernelspecs"][KERNEL_NAME]["spec"]
        assert kernel["argv"][0] == sys.executable  # the workshop's venv, not whatever python3 is first
        labs = requests.get(f"http://127.0.0.1:{port}/api/contents/labs", headers=headers, timeout=10).json()
        folders = {item["name"] for item in labs["content"]}
        assert {"01_bring_your_own_container", "02_bring_your_own_model"} <= folders
        assert requests.get(f"http://127.0.0.1:{port}/lab", headers=headers, timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
