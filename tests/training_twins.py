"""Shared by the script-mode training twins' tests (PyTorch, TensorFlow, MXNet): a DLC-style job as SageMaker
starts one, `docker run IMAGE train` over an /opt/ml tree whose hyperparameters name the user's script, and the
tests of what AWS's sagemaker-training toolkit does the same way in every twin. A twin's test module imports
those tests (pytest runs them there, with that module's `twin` and `dlc_job` fixtures).

Sources: github.com/aws/sagemaker-training-toolkit v5.1.4 (trainer.py, environment.py, mapping.py) and the
observed run of the real `train` in ../shared/contracts/NEXT_LABS.md section B1."""
import json

from smworkshop import docker_run, opt_ml

# B1's hyperparameters: every value a JSON string, as SageMaker writes them; sagemaker_program names the script.
HYPERPARAMETERS = {"epochs": "3", "lr": "0.01", "optimizer": '"adam"', "nested": '{"a": 1}', "flag": "true",
                   "sagemaker_program": '"train.py"', "sagemaker_submit_directory": '"/opt/ml/code"',
                   "sagemaker_region": '"us-east-1"', "sagemaker_container_log_level": "20"}
# y = 2a + 3b + 1 on a 5 x 4 grid: a script that reads every row can learn it exactly.
TRAIN_CSV = "\n".join(f"{2 * a + 3 * b + 1},{a},{b}" for a in range(5) for b in range(4)) + "\n"


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


# ---- the toolkit's contract, the same in every training twin ----------------------------------------------

def test_job_succeeds_and_writes_the_success_file(dlc_job):
    assert dlc_job["code"] == 0, dlc_job["logs"][-3000:]
    assert (dlc_job["root"] / "output" / "success").exists()  # trainer.py: files.write_success_file
    assert not (dlc_job["root"] / "output" / "failure").exists()


def test_hyperparameters_become_sorted_command_line_arguments(dlc_job):
    # mapping.to_cmd_args, B1: keys sorted, values json.loads-ed, True Python-str'd, dicts k=v
    assert dlc_job["seen"]["argv"] == ["--epochs", "3", "--flag", "True", "--lr", "0.01", "--nested", "a=1",
                                       "--optimizer", "adam"]
    # process.py, B1: the interpreter is called with the end-of-options marker before the script
    assert "-- train.py --epochs 3 --flag True --lr 0.01 --nested a=1 --optimizer adam" in dlc_job["logs"]
    assert dlc_job["seen"]["cwd"] == "/opt/ml/code"


def test_a_missing_script_is_reported_as_such(twin, tmp_path):
    hyperparameters = dict(HYPERPARAMETERS, sagemaker_program='"no_such_script.py"')
    root = prepare(tmp_path, "raise SystemExit('train.py ran although the job names another script')\n",
                   hyperparameters)
    code, logs = run_train(twin, root)
    assert code != 0
    assert "no_such_script.py" in (root / "output" / "failure").read_text()
    assert "train.py ran" not in logs
