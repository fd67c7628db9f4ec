"""Contract tests of containers/sklearn-byoc (Lab 01), run against the built image.

The contract is SageMaker's for custom containers:
- training: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
  (hyperparameters.json with string values, channels under /opt/ml/input/data, model to /opt/ml/model,
  /opt/ml/output/failure plus a non-zero exit on failure)
- serving: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
  (`serve`, port 8080, GET /ping, POST /invocations, 6 MB payload limit)
"""
import concurrent.futures
import json

import pytest
import requests

from smworkshop import datasets, docker_run

pytestmark = pytest.mark.docker
CONTAINER = "sklearn-byoc"


@pytest.fixture(scope="module")
def byoc(image):
    return image(CONTAINER)


@pytest.fixture(scope="module")
def served_model(byoc, iris_data, tmp_path_factory):
    """Train once with the container, then serve that model for the HTTP tests."""
    folder, _, test = iris_data
    root = tmp_path_factory.mktemp("served") / "opt_ml"
    from smworkshop import opt_ml

    opt_ml.prepare(root, {"max_leaf_nodes": 5}, {"train": folder / "train"})
    code, logs = docker_run.train(byoc, root)
    assert code == 0, logs
    with docker_run.serving(byoc, root / "model") as container:
        yield container, test


# ---- training -------------------------------------------------------------------------------

def test_train_writes_model_and_reports_accuracy_with_the_hyperparameters_given(byoc, iris_data, run_training):
    import joblib

    folder, _, _ = iris_data
    code, logs, root = run_training(byoc, {"max_leaf_nodes": 5, "criterion": "entropy"}, {"train": folder / "train"})
    assert code == 0, logs
    tree = joblib.load(root / "model" / "model.joblib")  # same scikit-learn as the image (pinned to the lock)
    assert tree.criterion == "entropy" and tree.max_leaf_nodes == 5  # the strings reached the model, parsed
    info = json.loads((root / "model" / "model-info.json").read_text())
    assert info["n_features"] == 4 and info["classes"] == ["setosa", "versicolor", "virginica"]
    assert info["n_leaves"] <= 5
    assert "train:accuracy=" in logs
    assert not (root / "output" / "failure").exists()


@pytest.mark.parametrize("hyperparameters, reason", [
    ({"max_leaf_nodes": 1}, "max_leaf_nodes='1' must be an integer of at least 2"),
    ({"max_leaf_nodes": "many"}, "max_leaf_nodes='many' must be an integer"),
    ({"criterion": "purity"}, "criterion='purity' must be one of gini, entropy, log_loss"),
    ({"max_leaf_node": 5}, "unknown hyperparameter(s) ['max_leaf_node']"),
])
def test_bad_hyperparameter_fails_with_reason(byoc, iris_data, run_training, hyperparameters, reason):
    folder, _, _ = iris_data
    code, logs, root = run_training(byoc, hyperparameters, {"train": folder / "train"})
    assert code != 0
    failure = (root / "output" / "failure").read_text()
    assert reason in failure, failure
    assert not (root / "model" / "model.joblib").exists()


def test_missing_channel_fails_with_reason(byoc, iris_data, run_training):
    folder, _, _ = iris_data
    code, logs, root = run_training(byoc, {"max_leaf_nodes": 5}, {"validation": folder / "test"})
    assert code != 0
    failure = (root / "output" / "failure").read_text()
    assert "channel 'train' is missing" in failure and "['validation']" in failure


@pytest.mark.parametrize("content, reason", [
    ("setosa,5.1,3.5,1.4,0.2\nsetosa,4.9,3.0\n", "row 2 has 3 values; expected 5"),
    ("setosa,5.1,abc,1.4,0.2\n", "row 1, column 2: 'abc' is not a number"),
    ("\n\n", "has no CSV rows"),
])
def test_malformed_training_csv_fails_with_reason(byoc, tmp_path, run_training, content, reason):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "data.csv").write_text(content)
    code, logs, root = run_training(byoc, {}, {"train": tmp_path / "bad"})
    assert code != 0
    assert reason in (root / "output" / "failure").read_text()


# ---- serving --------------------------------------------------------------------------------

def test_ping_is_healthy(served_model):
    container, _ = served_model
    assert requests.get(f"{container.url}/ping", timeout=5).status_code == 200


def test_predictions_are_right(served_model):
    container, test = served_model
    response = container.invoke(datasets.to_csv_body(test.iloc[:, 1:]), accept="text/csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    predicted = response.text.splitlines()
    assert len(predicted) == len(test)
    accuracy = sum(p == t for p, t in zip(predicted, test["species"])) / len(test)
    assert accuracy >= 0.9


def test_execution_parameters_for_batch_transform(served_model):
    container, _ = served_model
    answer = requests.get(f"{container.url}/execution-parameters", timeout=5).json()
    assert answer["BatchStrategy"] == "MULTI_RECORD" and answer["MaxPayloadInMB"] == 6


@pytest.mark.parametrize("body, content_type, accept, status, message", [
    ("5.1,3.5,1.4,0.2", "application/json", None, 415, "unsupported content type 'application/json'"),
    ("5.1,3.5,1.4,0.2", "text/csv", "application/json", 406, "this model answers text/csv"),
    ("5.1,3.5,1.4\n", "text/csv", None, 400, "row 1 has 3 values; expected 4"),
    ("5.1,3.5,1.4,0.2\n5.1,3.5,1.4,0.2,9\n", "text/csv", None, 400, "row 2 has 5 values; expected 4"),
    ("5.1,three,1.4,0.2\n", "text/csv", None, 400, "column 2: 'three' is not a number"),
    ("5.1,\"3.5,1.4,0.2\n", "text/csv", None, 400, "bad request"),
    ("", "text/csv", None, 400, "empty request body"),
    (b"\xff\xfe\x00", "text/csv", None, 400, "not UTF-8"),
    ("5.1,inf,1.4,0.2\n", "text/csv", None, 400, "not a finite number"),
])
def test_bad_requests_get_4xx_with_a_message_and_server_keeps_serving(served_model, body, content_type, accept,
                                                                       status, message):
    container, test = served_model
    response = container.invoke(body, content_type=content_type, accept=accept)
    assert response.status_code == status
    assert message in response.text
    # and the next good request is answered correctly
    good = container.invoke("5.1,3.5,1.4,0.2\n")
    assert good.status_code == 200 and good.text == "setosa\n"


def test_payload_over_6_mb_is_refused_with_413(served_model):
    container, _ = served_model
    row = "5.1,3.5,1.4,0.2\n"
    body = row * (6 * 1024 * 1024 // len(row) + 1000)
    assert len(body) > 6 * 1024 * 1024
    response = container.invoke(body)
    assert response.status_code == 413 and "payload too large" in response.text
    assert container.invoke(row).text == "setosa\n"


def test_payload_just_under_6_mb_is_served(served_model):
    container, _ = served_model
    row = "5.1,3.5,1.4,0.2\n"
    body = row * (6 * 1024 * 1024 // len(row) - 10)
    response = container.invoke(body)
    assert response.status_code == 200
    assert response.text.count("setosa\n") == body.count("\n")


def test_32_concurrent_clients_all_get_right_answers(served_model):
    container, test = served_model
    features = test.iloc[:, 1:]
    expected_first = container.invoke(datasets.to_csv_body(features)).text.splitlines()

    def client(index):
        answers = []
        with requests.Session() as session:
            for step in range(10):
                row = (index * 10 + step) % len(features)
                response = session.post(f"{container.url}/invocations", data=datasets.to_csv_body(features.iloc[[row]]),
                                        headers={"Content-Type": "text/csv"}, timeout=30)
                answers.append((response.status_code, response.text.strip(), expected_first[row]))
        return answers

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        results = [a for answers in pool.map(client, range(32)) for a in answers]
    assert len(results) == 320
    assert all(status == 200 for status, _, _ in results)
    assert all(got == want for _, got, want in results)
    assert container.running()


def test_serve_honours_sagemaker_bind_to_port(byoc, served_model):
    container, _ = served_model
    with docker_run.serving(byoc, container.model_dir, env={"SAGEMAKER_BIND_TO_PORT": "9090"},
                            container_port=9090) as other:
        assert requests.get(f"{other.url}/ping", timeout=5).status_code == 200


def test_serve_without_a_model_exits_with_a_clear_error(byoc, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuntimeError, match="no model at /opt/ml/model/model.joblib"):
        with docker_run.serving(byoc, tmp_path / "empty"):
            pass
