"""Shared by the script-mode training twins' tests (PyTorch, TensorFlow, MXNet): a DLC-style job as SageMaker
starts one, `docker run IMAGE train` over an /opt/ml tree whose hyperparameters name the user's script.

Sources: github.com/aws/sagemaker-training-toolkit v5.1.4 (trainer.py, environment.py, mapping.py) and the
observed run of the real `train` in ../shared/contracts/NEXT_LABS.md section B1."""
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
