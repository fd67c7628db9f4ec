"""Shared by the script-mode training twins' tests (PyTorch, TensorFlow, MXNet): a DLC-style job as SageMaker
starts one, `docker run IMAGE train` over an /opt/ml tree whose hyperparameters name the user's script, and the
tests of what AWS's sagemaker-training toolkit does the same way in every twin. A twin's test module imports
the tests that apply to it (pytest runs them there, with that module's `twin` and `dlc_job` fixtures).

Each twin runs the sagemaker-training version its real image carries: 5.0.0 (PyTorch 2.5), 4.8.4 (TensorFlow
2.18), 4.3.1 (MXNet 1.9); see each container's README. What the tests expect comes from that toolkit's source
at github.com/aws/sagemaker-training-toolkit, tags v5.0.0 / v4.8.4 / v4.3.1:
- mapping.py `to_cmd_args`: hyperparameters -> arguments, keys sorted, values json.loads-ed and str()-ed;
- process.py `ProcessRunner._create_command`: `[sys.executable, <script>] + args`, no `--` (the `--` and the
  argv-vector launcher came with 5.1.x); `check_error` (v4.8.4/v5.0.0 lines 257-300, v4.3.1 lines 235-275):
  with capture_error=True the command goes to `create` -> `run_async`, which does `cmd = " ".join(cmd)` and
  `asyncio.create_subprocess_shell` (v4.8.4/v5.0.0 process.py:193-194, v4.3.1 process.py:171-172), so /bin/sh
  parses the joined words again; with capture_error=False it goes to `subprocess.Popen(cmd)`, one argument
  per word. The PyTorch and TensorFlow toolkits pass capture_error=True (sagemaker-pytorch-training v2.8.1
  training.py, sagemaker-tensorflow-training v20.4.1 training.py); the MXNet toolkit v4.3.0 leaves the
  default False (training.py `entry_point.run(...)` without capture_error);
- logging_config.py `log_script_invocation`: "Invoking script with the following command:" + the joined command;
- trainer.py: success file, or failure file + exit 1 for a ClientError (ExecuteUserScriptError: "ExitCode N").
Known upstream: aws/sagemaker-training-toolkit issue #128 ("Hyperparameters not shell escaped")."""
import json
import re

from smworkshop import docker_run, opt_ml

# Every value a JSON string, as SageMaker writes them; sagemaker_program names the script.
HYPERPARAMETERS = {"epochs": "3", "lr": "0.01", "optimizer": '"adam"', "nested": '{"a": 1}', "flag": "true",
                   "sagemaker_program": '"train.py"', "sagemaker_submit_directory": '"/opt/ml/code"',
                   "sagemaker_region": '"us-east-1"', "sagemaker_container_log_level": "20"}
# y = 2a + 3b + 1 on a 5 x 4 grid: a script that reads every row can learn it exactly.
TRAIN_CSV = "\n".join(f"{2 * a + 3 * b + 1},{a},{b}" for a in range(5) for b in range(4)) + "\n"
# A script that only records the arguments it was given (and proves it ran).
ARGV_SCRIPT = ("import json, os, sys\nprint('SCRIPT-RAN', flush=True)\n"
               "json.dump(sys.argv[1:], open(os.path.join(os.environ['SM_MODEL_DIR'], 'argv.json'), 'w'))\n")
# A hyperparameter value with spaces (and a list, which str() writes with a space), and one with shell syntax.
SPACED = {"msg": '"hello world"', "layers": "[64, 32]"}
SHELL_SYNTAX = {"opt": '"adam(lr=0.1)"'}


def run_train(image, root, env=None, timeout=600):
    """`docker run IMAGE train` with ROOT at /opt/ml. The container's host name is the job's (algo-1): the
    toolkit resolves every host of the job before it starts."""
    return docker_run.run(image, "train", opt_ml_root=root, env=env, hostname="algo-1", timeout=timeout)


def prepare(tmp_path, script, hyperparameters=HYPERPARAMETERS):
    """An /opt/ml tree with train and validation channels (TRAIN_CSV) and SCRIPT as code/train.py."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text(TRAIN_CSV)
    (data / "validation.csv").write_text(TRAIN_CSV)
    root = opt_ml.prepare(tmp_path / "opt_ml", hyperparameters=hyperparameters,
                          channels={"train": data / "train.csv", "validation": data / "validation.csv"})
    (root / "output" / "data").mkdir(exist_ok=True)
    (root / "code").mkdir()
    (root / "code" / "train.py").write_text(script)
    return root


def dlc_job(image, folder, script, seen_file="model/seen.json"):
    """Run SCRIPT DLC style; the outcome and what the script recorded in SEEN_FILE (under /opt/ml)."""
    root = prepare(folder, script)
    code, logs = run_train(image, root)
    seen = root / seen_file
    return {"code": code, "logs": logs, "root": root, "seen": json.loads(seen.read_text()) if seen.exists() else None}


def argv_job(image, tmp_path, extra_hyperparameters):
    """Run ARGV_SCRIPT with HYPERPARAMETERS plus EXTRA: (exit code, logs, root, argv the script got or None)."""
    root = prepare(tmp_path, ARGV_SCRIPT, dict(HYPERPARAMETERS, **extra_hyperparameters))
    code, logs = run_train(image, root)
    argv = root / "model" / "argv.json"
    return code, logs, root, json.loads(argv.read_text()) if argv.exists() else None


# ---- the toolkit's contract, the same in every training twin ----------------------------------------------

def test_job_succeeds_and_writes_the_success_file(dlc_job):
    assert dlc_job["code"] == 0, dlc_job["logs"][-3000:]
    assert (dlc_job["root"] / "output" / "success").exists()  # trainer.py: files.write_success_file
    assert not (dlc_job["root"] / "output" / "failure").exists()


def test_hyperparameters_become_sorted_command_line_arguments(dlc_job):
    # mapping.to_cmd_args: keys sorted, values json.loads-ed, True Python-str'd, dicts k=v; run in the code dir
    assert dlc_job["seen"]["argv"] == ["--epochs", "3", "--flag", "True", "--lr", "0.01", "--nested", "a=1",
                                       "--optimizer", "adam"]
    assert dlc_job["seen"]["cwd"] == "/opt/ml/code"


def test_the_logged_command_is_the_interpreter_then_the_script_without_an_end_of_options_marker(dlc_job):
    # logging_config.log_script_invocation + process._create_command: `<sys.executable> train.py <args>`;
    # the `python3 -- train.py` form is 5.1.x's, which no real image carries
    logged = re.search(r"Invoking script with the following command:\s+(\S+) (.*)", dlc_job["logs"])
    assert logged, dlc_job["logs"][-3000:]
    assert re.fullmatch(r"/\S*/python3(\.\d+)?", logged.group(1))
    assert logged.group(2).strip() == "train.py --epochs 3 --flag True --lr 0.01 --nested a=1 --optimizer adam"
    assert "-- train.py" not in dlc_job["logs"]


def test_a_missing_script_is_reported_as_such(twin, tmp_path):
    hyperparameters = dict(HYPERPARAMETERS, sagemaker_program='"no_such_script.py"')
    root = prepare(tmp_path, "raise SystemExit('train.py ran although the job names another script')\n",
                   hyperparameters)
    code, logs = run_train(twin, root)
    assert code != 0
    assert "no_such_script.py" in (root / "output" / "failure").read_text()
    assert "train.py ran" not in logs


# ---- how the arguments reach the script: through /bin/sh (capture_error=True) or as a vector -------------

def test_through_the_shell_a_value_with_spaces_becomes_several_arguments(twin, tmp_path):
    """capture_error=True: process.run_async joins the command with spaces for /bin/sh, which splits it again."""
    code, logs, _, argv = argv_job(twin, tmp_path, SPACED)
    assert code == 0, logs[-3000:]
    assert argv == ["--epochs", "3", "--flag", "True", "--layers", "[64,", "32]", "--lr", "0.01",
                    "--msg", "hello", "world", "--nested", "a=1", "--optimizer", "adam"]


def test_through_the_shell_a_value_with_shell_syntax_fails_the_job_before_the_script_runs(twin, tmp_path):
    """capture_error=True: `--opt adam(lr=0.1)` is a /bin/sh (dash) syntax error, exit 2; trainer.py turns it
    into ExecuteUserScriptError in the failure file and exit 1. The shell's message reaches the log only: the
    failure file's ErrorMessage holds what process.watch collected after a Python error name, here nothing."""
    code, logs, root, argv = argv_job(twin, tmp_path, SHELL_SYNTAX)
    assert code == 1, logs[-3000:]
    assert 'Syntax error: "(" unexpected' in logs
    assert argv is None and "SCRIPT-RAN" not in logs
    failure = (root / "output" / "failure").read_text()
    assert "ExecuteUserScriptError" in failure and "ExitCode 2" in failure and "adam(lr=0.1)" in failure
    assert not (root / "output" / "success").exists()


def test_without_the_shell_every_value_reaches_the_script_whole(twin, tmp_path):
    """capture_error=False: process.check_error starts `subprocess.Popen(cmd)`, one argument per word."""
    code, logs, _, argv = argv_job(twin, tmp_path, dict(SPACED, **SHELL_SYNTAX))
    assert code == 0, logs[-3000:]
    assert argv == ["--epochs", "3", "--flag", "True", "--layers", "[64, 32]", "--lr", "0.01",
                    "--msg", "hello world", "--nested", "a=1", "--opt", "adam(lr=0.1)", "--optimizer", "adam"]
