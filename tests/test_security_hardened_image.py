"""Lab 06's hardened container (containers/sklearn-byoc-nonroot): Lab 01's image running as an unprivileged
user, still honouring SageMaker's training and serving contract, unable to write outside what the contract
needs; and a dependency vulnerability audit of its pinned packages.

The contract (the same as tests/test_sklearn_byoc_container.py):
  https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
  https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html

The audit runs pip-audit (2.10.1, in its own venv under build/tools/pip-audit). Its default service, PyPI's
JSON API, answers only project pages here (`/pypi/NAME/VERSION/json` is 404, which pip-audit reports as
"not found on PyPI" and skips), and OSV (api.osv.dev) cannot be reached. So pip-audit is pointed
(`--osv-url`) at a small OSV-compatible responder in this test process that answers from a vulnerability
database installed from PyPI: `safety-db` (PyUp.io's open database, snapshot of July 2021, licence
CC BY-NC-SA 4.0; installed at test time, never vendored). An old snapshot misses everything published after
it; the tests below show the pipeline catches what the database knows. Where OSV is reachable, drop
`--osv-url` and the same command audits against the live database.
"""
import fcntl
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from smworkshop import datasets, docker_run, opt_ml

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[1]
CONTAINER = "sklearn-byoc-nonroot"
PARENT_REQUIREMENTS = ROOT / "containers" / "sklearn-byoc" / "requirements.txt"
LOCK = ROOT / "requirements.lock"
MODEL_UID = 1000
TOOL_VENV = ROOT / "build" / "tools" / "pip-audit"
# pip-audit and what it pulls in (pip freeze of a fresh venv after `pip install pip-audit==2.10.1`), plus the
# vulnerability database it is given here.
TOOL_PINS = """boolean.py==5.0 CacheControl==0.14.4 certifi==2026.10.19.post1 charset-normalizer==3.5.3
cyclonedx-python-lib==11.12.0 defusedxml==0.7.1 filelock==4.3.1 idna==3.20 license-expression==30.4.4
markdown-it-py==4.3.0 mdurl==0.1.2 msgpack==1.2.4 packageurl-python==0.17.6 packaging==26.4
pip-requirements-parser==32.0.1 pip_api==0.0.35 pip_audit==2.10.1 platformdirs==4.14.8 py-serializable==2.2.0
Pygments==2.21.0 pyparsing==3.3.3 requests==2.34.2 rich==15.0.0 sortedcontainers==2.4.0 tomli==2.5.0
tomli_w==1.2.0 typing_extensions==4.16.0 urllib3==2.8.0 safety-db==2021.7.17""".split()


@pytest.fixture(scope="module")
def hardened(image):
    return image(CONTAINER)


def pins(path):
    """{normalised name: version} of the `name==version` lines of a requirements file."""
    found = {}
    for line in Path(path).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#;]+)", line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


def docker_python(image_tag, code, *docker_args):
    """Run python CODE in the image as its own user; returns the completed process."""
    cmd = ["docker", "run", "--rm", "--label", f"{docker_run.RUN_LABEL}=test", "--network", "none",
           *docker_args, "--entrypoint", "/opt/venv/bin/python", image_tag, "-c", code]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def hand_over(root, uid=MODEL_UID):
    """Give the container's user the two folders a training job writes, as the platform must.
    Run as root here (CI) this is a chown; as that same uid (a Studio space) nothing is needed."""
    for folder in (root / "model", root / "output"):
        if os.geteuid() == 0:
            os.chown(folder, uid, uid)
        elif os.geteuid() != uid:
            folder.chmod(0o777)
    return root


# ------------------------------------------------------------------------------------------------ user

def test_the_image_runs_as_an_unprivileged_user_by_number(hardened):
    user = subprocess.run(["docker", "image", "inspect", "--format", "{{.Config.User}}", hardened],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert user == f"{MODEL_UID}:{MODEL_UID}"
    done = docker_python(hardened, "import os; print(os.getuid(), os.getgid(), os.geteuid())")
    assert done.stdout.split() == [str(MODEL_UID)] * 3, done.stderr


def test_pip_and_setuptools_are_not_in_the_runtime_venv(hardened):
    done = docker_python(hardened, "import importlib.util as u; print(u.find_spec('pip'), u.find_spec('setuptools'))")
    assert done.stdout.split() == ["None", "None"], done.stderr


def test_the_installed_packages_are_exactly_the_pinned_ones(hardened):
    """What is in the image is what requirements.txt pins (which equals the repo's requirements.lock)."""
    done = docker_python(hardened, "import importlib.metadata as m; "
                                   "print('\\n'.join(f'{d.name}=={d.version}' for d in m.distributions()))")
    installed = {re.sub(r"[-_.]+", "-", line.split("==")[0]).lower(): line.split("==")[1]
                 for line in done.stdout.split()}
    assert installed == pins(PARENT_REQUIREMENTS)
    lock = pins(LOCK)
    assert {name: lock.get(name) for name in installed} == installed


# ---------------------------------------------------------------------------------- the contract, non-root

def test_it_trains_when_the_model_and_output_folders_are_writable_for_it(hardened, iris_data, tmp_path):
    import joblib

    folder, _, _ = iris_data
    root = hand_over(opt_ml.prepare(tmp_path / "opt_ml", {"max_leaf_nodes": 5}, {"train": folder / "train"}))
    code, logs = docker_run.train(hardened, root)
    assert code == 0, logs
    assert "train:accuracy=" in logs
    assert joblib.load(root / "model" / "model.joblib").max_leaf_nodes == 5
    assert (root / "model" / "model.joblib").stat().st_uid in (MODEL_UID, os.geteuid())


def test_a_failed_job_still_writes_its_reason_to_output_failure(hardened, iris_data, tmp_path):
    folder, _, _ = iris_data
    root = hand_over(opt_ml.prepare(tmp_path / "opt_ml", {"max_leaf_nodes": 1}, {"train": folder / "train"}))
    code, _ = docker_run.train(hardened, root)
    assert code != 0
    assert "max_leaf_nodes='1' must be an integer of at least 2" in (root / "output" / "failure").read_text()


def test_with_root_owned_model_folder_training_fails_loudly(hardened, iris_data, tmp_path):
    """Why the platform must hand the folders over: a non-root user cannot write a root-owned /opt/ml/model."""
    if os.geteuid() != 0:
        pytest.skip("needs a root-owned folder: runs where the tests run as root (CI)")
    folder, _, _ = iris_data
    root = opt_ml.prepare(tmp_path / "opt_ml", {"max_leaf_nodes": 5}, {"train": folder / "train"})
    code, logs = docker_run.train(hardened, root)
    assert code != 0 and "Permission denied" in logs
    assert list((root / "model").iterdir()) == []


def test_it_serves_a_read_only_model_and_refuses_bad_input(hardened, iris_data, tmp_path):
    folder, _, test = iris_data
    root = hand_over(opt_ml.prepare(tmp_path / "opt_ml", {"max_leaf_nodes": 5}, {"train": folder / "train"}))
    code, logs = docker_run.train(hardened, root)
    assert code == 0, logs
    with docker_run.serving(hardened, root / "model") as container:  # mounted :ro
        assert requests.get(f"{container.url}/ping", timeout=5).status_code == 200
        answer = container.invoke(datasets.to_csv_body(test.iloc[:5, 1:]))
        assert answer.status_code == 200 and len(answer.text.split()) == 5
        bad = container.invoke("5.1,3.5\n")
        assert 400 <= bad.status_code < 500 and bad.text.strip()
        assert container.invoke("6.7,3.0,5.2,2.3\n").status_code == 200


def test_it_serves_with_a_read_only_root_filesystem(hardened, iris_data, tmp_path):
    """`docker run --read-only --tmpfs /tmp`: the server needs nothing writable but /tmp."""
    folder, _, _ = iris_data
    root = hand_over(opt_ml.prepare(tmp_path / "opt_ml", {"max_leaf_nodes": 5}, {"train": folder / "train"}))
    assert docker_run.train(hardened, root)[0] == 0
    code = ("import subprocess, time, urllib.request\n"
            "server = subprocess.Popen(['serve'])\n"
            "for _ in range(80):\n"
            "    try:\n"
            "        print(urllib.request.urlopen('http://127.0.0.1:8080/ping', timeout=1).status); break\n"
            "    except OSError: time.sleep(0.25)\n"
            "request = urllib.request.Request('http://127.0.0.1:8080/invocations', data=b'5.1,3.5,1.4,0.2\\n',"
            " headers={'Content-Type': 'text/csv'})\n"
            "print(urllib.request.urlopen(request, timeout=5).read().decode().strip())\n"
            "server.terminate()\n")
    done = docker_python(hardened, code, "--read-only", "--tmpfs", "/tmp", "-v", f"{root / 'model'}:/opt/ml/model:ro")
    assert done.stdout.split() == ["200", "setosa"], done.stdout + done.stderr[-2000:]


# --------------------------------------------------------------------------- nothing else is writable

WRITE_PROBE = """
import os
for folder in {folders!r}:
    target = os.path.join(folder, ".write-probe")
    try:
        with open(target, "w") as handle:
            handle.write("x")
        os.remove(target)
        print(folder, "writable")
    except OSError as err:
        print(folder, type(err).__name__)
"""
MUST_BE_READ_ONLY = ["/", "/etc", "/usr/local/bin", "/opt/program", "/opt/venv/bin",
                     "/opt/venv/lib/python3.11/site-packages", "/opt/ml", "/opt/ml/input", "/opt/ml/code"]
MAY_WRITE = ["/opt/ml/model", "/opt/ml/output", "/opt/ml/output/data", "/tmp"]


def test_the_user_can_write_only_where_the_contract_needs_it(hardened):
    done = docker_python(hardened, WRITE_PROBE.format(folders=MUST_BE_READ_ONLY + MAY_WRITE))
    verdicts = dict(line.split() for line in done.stdout.splitlines())
    assert verdicts == {**{f: "PermissionError" for f in MUST_BE_READ_ONLY}, **{f: "writable" for f in MAY_WRITE}}, \
        done.stderr


def test_the_program_and_packages_are_owned_by_root(hardened):
    code = ("import os\n"
            "for top in ('/opt/program', '/opt/venv'):\n"
            "    for folder, dirs, files in os.walk(top):\n"
            "        for name in dirs + files:\n"
            "            path = os.path.join(folder, name)\n"
            "            if os.lstat(path).st_uid != 0 or os.access(path, os.W_OK): print(path)\n")
    done = docker_python(hardened, code)
    assert done.returncode == 0 and done.stdout == "", done.stdout[:2000] + done.stderr[-2000:]


# ---------------------------------------------------------------------------- dependency audit

@pytest.fixture(scope="session")
def pip_audit():
    """pip-audit and safety-db in their own venv, made once and reused while TOOL_PINS are unchanged."""
    digest = hashlib.sha256("\n".join(TOOL_PINS).encode()).hexdigest()
    stamp, executable = TOOL_VENV / "pins.sha256", TOOL_VENV / "bin" / "pip-audit"
    TOOL_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(TOOL_VENV.parent / "pip-audit.lock", "w") as lock:  # engineers share one tree
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (executable.exists() and stamp.exists() and stamp.read_text() == digest):
            for step in ([sys.executable, "-m", "venv", "--clear", str(TOOL_VENV)],
                         [str(TOOL_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          "--disable-pip-version-check", "--no-input", "--no-deps", *TOOL_PINS]):
                done = subprocess.run(step, capture_output=True, text=True)
                if done.returncode != 0:
                    pytest.fail(f"could not install pip-audit: {' '.join(step[:4])} ...\n{done.stderr[-3000:]}",
                                pytrace=False)
            stamp.write_text(digest)
    return executable


def load_safety_db(tool_venv):
    (database,) = tool_venv.glob("lib/python3*/site-packages/safety_db/insecure_full.json")
    return json.loads(database.read_text())


def osv_answer(database, name, version):
    """An OSV /v1/query answer (the fields pip-audit reads) for one package version, from safety-db."""
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    try:
        wanted = Version(version)
    except InvalidVersion:
        return {}
    vulns = []
    for key, advisories in database.items():
        if key.startswith("$") or canonicalize_name(key) != canonicalize_name(name):
            continue
        for advisory in advisories:
            # Each spec is one range ("<2.3.0", ">=1.0,<1.2"); the advisory applies if any range holds.
            if any(SpecifierSet(spec).contains(wanted, prereleases=True) for spec in advisory["specs"]):
                fixed = [re.sub(r"^[<=]+", "", part) for spec in advisory["specs"] for part in spec.split(",")
                         if part.startswith("<") and not part.startswith("<=")]
                cves = [c.strip() for c in (advisory.get("cve") or "").split(",") if c.strip()]
                vulns.append({"id": advisory["id"], "aliases": cves, "summary": advisory["advisory"],
                              "affected": [{"package": {"name": canonicalize_name(name), "ecosystem": "PyPI"},
                                            "ranges": [{"type": "ECOSYSTEM",
                                                        "events": [{"introduced": "0"}] +
                                                                  [{"fixed": f} for f in fixed]}]}]})
    return {"vulns": vulns} if vulns else {}


@pytest.fixture(scope="session")
def osv_url(pip_audit):
    """A loopback OSV-compatible /v1/query endpoint answering from safety-db."""
    database = load_safety_db(TOOL_VENV)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps(osv_answer(database, query["package"]["name"], query["version"])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()


def audit(pip_audit, osv_url, requirements):
    """pip-audit's JSON report on a pinned requirements file: {name: [advisory ids and CVE aliases]}, the
    names it skipped, and its exit code (1: something was found)."""
    done = subprocess.run([str(pip_audit), "--requirement", str(requirements), "--no-deps", "--disable-pip",
                           "--vulnerability-service", "osv", "--osv-url", osv_url, "--format", "json",
                           "--progress-spinner", "off"], capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pip-audit gave no JSON (exit {done.returncode}):\n{done.stderr[-3000:]}", pytrace=False)
    found = {d["name"]: sorted({i for v in d["vulns"] for i in (v["id"], *v.get("aliases", []))})
             for d in report["dependencies"] if d.get("vulns")}
    skipped = [d["name"] for d in report["dependencies"] if "skip_reason" in d]
    return found, skipped, done.returncode


def test_the_audit_flags_known_vulnerable_pins(pip_audit, osv_url, tmp_path):
    """The check can fail: two pins with published advisories (requests 2.19.0: CVE-2018-18074, credentials
    sent on an https->http redirect; Werkzeug 0.11.5: CVE-2016-10516, cross-site scripting in the debugger)."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.19.0\nwerkzeug==0.11.5\nnumpy==2.4.6\n")
    found, skipped, code = audit(pip_audit, osv_url, requirements)
    assert code == 1 and skipped == []
    assert set(found) == {"requests", "werkzeug"}
    assert "CVE-2018-18074" in found["requests"] and "CVE-2016-10516" in found["werkzeug"]


def test_the_hardened_images_pinned_packages_have_no_known_vulnerabilities(pip_audit, osv_url):
    found, skipped, code = audit(pip_audit, osv_url, PARENT_REQUIREMENTS)
    assert skipped == [] and found == {} and code == 0
    assert len(pins(PARENT_REQUIREMENTS)) >= 10  # every package was looked up, none skipped


def test_the_lock_the_image_pins_come_from_has_no_known_vulnerabilities(pip_audit, osv_url, tmp_path):
    """requirements.lock (the host environment, and the constraints every image is built with)."""
    # torch is pinned there without its local label; pip-audit only needs name==version lines.
    lines = [line for line in LOCK.read_text().splitlines() if "==" in line and not line.startswith("#")]
    requirements = tmp_path / "lock.txt"
    requirements.write_text("\n".join(lines) + "\n")
    found, skipped, _ = audit(pip_audit, osv_url, requirements)
    assert skipped == [] and found == {}
