"""Contract tests of the built image containers/clarify-1.0 (the open Clarify-compatible processing
container), run the way a processing job runs it: `docker run IMAGE` with no command, the job's folders
mounted at /opt/ml/processing/... and /opt/ml/output.

Sources:
- [job]  https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-configure-parameters.html
         ("ContainerEntrypoint and ContainerArguments are not supported") and
         https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html
         (the image runs as `docker run [ImageUri]`; /opt/ml/output/message is the ExitMessage)
- [sdk]  sagemaker-core 2.27.0 sagemaker/core/clarify/__init__.py SageMakerClarifyProcessor: inputs
         `analysis_config` -> /opt/ml/processing/input/config, `dataset` -> /opt/ml/processing/input/data,
         output `analysis_result` <- /opt/ml/processing/output
- [cfg]  https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-configure-analysis.html
- [smc]  smclarify 0.5 smclarify/bias/metrics (DPPL = qa_hat - qd_hat)
- [dg]   awsdocs/amazon-sagemaker-developer-guide @a869fa5 doc_source/: clarify-processing-job-run.md ([dg-run]),
         build-your-own-processing-container.md ([dg-byoc]), clarify-processing-job-configure-analysis.md
Expected values come from those sources, from XGBoost 1.7.4 on the host (the serving twin's version) or
from counting, never from the container's code.
"""
import json
import subprocess

import numpy as np
import pytest

from smworkshop import docker_run

pytestmark = pytest.mark.docker
CONTAINER = "clarify-1.0"


@pytest.fixture(scope="module")
def clarify_image(image):
    return image(CONTAINER)


def run_processing(image_tag, root, config, files, env=None, network_host=False, timeout=900, hosts=None):
    """Lay out a processing job's folders under ROOT, `docker run IMAGE` (no command); return (code, logs).
    HOSTS: write /opt/ml/config/resourceconfig.json for a job with those instances ([dg-byoc]:132-138)."""
    for folder in ("processing/input/config", "processing/input/data", "processing/output", "output", "config"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    if hosts:
        (root / "config/resourceconfig.json").write_text(json.dumps({"current_host": hosts[0], "hosts": hosts}))
    (root / "processing/input/config/analysis_config.json").write_text(json.dumps(config))
    for name, text in files.items():
        (root / "processing/input/data" / name).write_text(text)
    cmd = ["docker", "run", "--rm", "--label", f"{docker_run.RUN_LABEL}=process",
           *(["--network", "host"] if network_host else ["--network", "none"]),
           # the SDK's mounts [sdk]: each input and the output as its own folder
           "-v", f"{(root / 'processing/input/config').resolve()}:/opt/ml/processing/input/config:ro",
           "-v", f"{(root / 'processing/input/data').resolve()}:/opt/ml/processing/input/data:ro",
           "-v", f"{(root / 'processing/output').resolve()}:/opt/ml/processing/output",
           "-v", f"{(root / 'output').resolve()}:/opt/ml/output",
           "-v", f"{(root / 'config').resolve()}:/opt/ml/config:ro"]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    result = subprocess.run(cmd + [image_tag], capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def people(rows=200, seed=5):
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, rows)
    age = rng.integers(18, 70, rows)
    hours = rng.integers(10, 60, rows)
    score = 1 / (1 + np.exp(-(0.05 * (age - 40) + 0.05 * (hours - 35) + 0.8 * sex)))
    label = (rng.random(rows) < score).astype(int)
    return np.column_stack([age, hours, sex]), label, (score > 0.5).astype(int)


def csv_text(header, rows):
    lines = ([",".join(header)] if header else []) + [",".join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def test_image_says_it_is_an_open_container_not_awss(clarify_image):
    labels = json.loads(subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}",
                                        clarify_image], capture_output=True, text=True, check=True).stdout)
    assert "NOT AWS's" in labels["org.opencontainers.image.description"]
    entrypoint = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Entrypoint}}",
                                 clarify_image], capture_output=True, text=True, check=True).stdout
    assert json.loads(entrypoint) == ["analyze"]  # [job] run with no command


def test_the_image_has_its_own_pinned_stack_pandas_2_smclarify_0_5_shap_0_51(clarify_image):
    out = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", clarify_image, "-c",
                          "import pandas, shap, numpy, importlib.metadata as m; "
                          "print(pandas.__version__, m.version('smclarify'), shap.__version__, numpy.__version__)"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["2.3.3", "0.5", "0.51.0", "2.4.6"]


def test_a_job_with_a_predicted_label_column_writes_analysis_json_and_the_report(clarify_image, tmp_path):
    # [sdk] mounts; [cfg] predicted_label column: post-training bias without a model
    features, label, predicted = people()
    rows = [[*f, y, p] for f, y, p in zip(features.tolist(), label.tolist(), predicted.tolist())]
    config = {"dataset_type": "text/csv", "headers": ["age", "hours", "sex", "target", "predicted"],
              "label": "target", "predicted_label": "predicted", "label_values_or_threshold": [1],
              "facet": [{"name_or_index": "sex", "value_or_threshold": [0]}], "group_variable": "hours",
              "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"},
                          "report": {"name": "report", "title": "Analysis Report"}}}
    code, logs = run_processing(clarify_image, tmp_path, config, {"people.csv": csv_text(None, rows)})
    assert code == 0, logs
    output = tmp_path / "processing/output"
    analysis = json.loads((output / "analysis.json").read_text())
    d, a = predicted[features[:, 2] == 0], predicted[features[:, 2] == 1]
    post = {m["name"]: m["value"] for m in analysis["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"]}
    assert post["DPPL"] == pytest.approx(a.mean() - d.mean())  # [smc] DPPL = qa_hat - qd_hat
    pre = {m["name"]: m["value"] for m in analysis["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"]}
    assert pre["CI"] == pytest.approx((len(a) - len(d)) / len(predicted))
    assert (output / "report.html").stat().st_size > 10000 and (output / "report.ipynb").exists()
    assert "pre-training bias: CI, DPL" in logs  # progress in the job's log
    assert not (tmp_path / "output/message").exists()


def test_a_failing_job_writes_opt_ml_output_message_and_exits_non_zero(clarify_image, tmp_path):
    # [job] /opt/ml/output/message -> ExitMessage
    config = {"dataset_type": "text/csv", "label": "target", "methods": {"pdp": {"grid_resolution": 10}}}
    code, logs = run_processing(clarify_image, tmp_path, config, {"d.csv": "a,target\n1,0\n"})
    assert code != 0
    message = (tmp_path / "output/message").read_text()
    assert message.startswith("ClientError:") and "unsupported field `methods.pdp`" in message


@pytest.fixture(scope="module")
def xgboost_endpoint(image, tmp_path_factory):
    """The built-in XGBoost twin serving a small binary:logistic model (trained here with XGBoost 1.7.4)."""
    import xgboost as xgb

    features, label, _ = people(400, seed=8)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 1},
                        xgb.DMatrix(features.astype(float), label=label), num_boost_round=20)
    folder = tmp_path_factory.mktemp("xgb_model")
    booster.save_model(str(folder / "xgboost-model"))
    with docker_run.serving(image("xgboost-1.7-1"), folder) as container:
        yield {"url": container.url, "booster": booster}


def test_post_training_bias_and_shap_call_a_local_serving_container_through_workshop_local_endpoints(
        clarify_image, xgboost_endpoint, tmp_path):
    # WORKSHOP_LOCAL_ENDPOINTS {"name": "<base URL>"}: POST <url>/invocations, text/csv in, one score per line
    # out ([cfg] no `label` with accept_type text/csv = one numeric score); scores above probability_threshold
    # are predicted positive. ServingContainer publishes on 127.0.0.1, hence --network host here.
    import xgboost as xgb

    features, label, _ = people(300, seed=9)
    rows = [[*f, y] for f, y in zip(features.tolist(), label.tolist())]
    config = {"dataset_type": "text/csv", "headers": ["age", "hours", "sex", "target"], "label": "target",
              "label_values_or_threshold": [1], "probability_threshold": 0.6,
              "facet": [{"name_or_index": "sex", "value_or_threshold": [0]}],
              "methods": {"post_training_bias": {"methods": ["DPPL", "DI"]},
                          "shap": {"num_clusters": 2, "num_samples": 50, "seed": 3, "save_local_shap_values": True}},
              "predictor": {"endpoint_name": "lab05-xgb", "content_type": "text/csv", "accept_type": "text/csv"}}
    env = {"WORKSHOP_LOCAL_ENDPOINTS": json.dumps({"lab05-xgb": xgboost_endpoint["url"]})}
    code, logs = run_processing(clarify_image, tmp_path, config, {"d.csv": csv_text(None, rows)}, env=env,
                                network_host=True)
    assert code == 0, logs
    assert "from WORKSHOP_LOCAL_ENDPOINTS" in logs
    analysis = json.loads((tmp_path / "processing/output/analysis.json").read_text())
    scores = xgboost_endpoint["booster"].predict(xgb.DMatrix(features.astype(float)))
    predicted = (scores > 0.6).astype(int)
    qa, qd = predicted[features[:, 2] == 1].mean(), predicted[features[:, 2] == 0].mean()
    post = {m["name"]: m["value"] for m in analysis["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"]}
    assert post["DPPL"] == pytest.approx(qa - qd) and post["DI"] == pytest.approx(qd / qa)
    out_csv = tmp_path / "processing/output/explanations_shap/out.csv"
    # one column per feature and output, <feature>_label0 (AWS's example notebooks strip "_label0" from them)
    assert out_csv.read_text().splitlines()[0] == "age_label0,hours_label0,sex_label0"
    local = np.loadtxt(out_csv, delimiter=",", skiprows=1)
    expected = analysis["explanations"]["kernel_shap"]["label0"]["expected_value"]
    # local accuracy: the SHAP values of a row add up to its score minus the expected value
    assert local.sum(axis=1) + expected == pytest.approx(scores, abs=1e-4)
    assert list(analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]) == ["age", "hours", "sex"]


def test_a_headerless_csv_without_headers_gets_placeholder_names_and_every_row(clarify_image, tmp_path):
    # [dg] headers: "If the dataset doesn't have headers ... placeholder names ... column_0, column_1"; the first
    # row is data, so CI counts all 200 rows: (n_a - n_d) / n with d = sex 0 [smc]
    features, label, _ = people()
    rows = [[*f, y] for f, y in zip(features.tolist(), label.tolist())]
    config = {"dataset_type": "text/csv", "label": 3, "label_values_or_threshold": [1],
              "facet": [{"name_or_index": 2, "value_or_threshold": [0]}],
              "methods": {"pre_training_bias": {"methods": ["CI"]}}}
    code, logs = run_processing(clarify_image, tmp_path, config, {"people.csv": csv_text(None, rows)})
    assert code == 0, logs
    section = json.loads((tmp_path / "processing/output/analysis.json").read_text())["pre_training_bias_metrics"]
    n_d = int((features[:, 2] == 0).sum())
    assert section["label"] == "column_3"
    assert section["facets"]["column_2"][0]["metrics"][0]["value"] == pytest.approx((len(rows) - 2 * n_d) / len(rows))


def test_a_job_on_two_instances_is_refused_by_reading_opt_ml_config_resourceconfig_json(clarify_image, tmp_path):
    # [dg-run]:80 more than one instance = Spark distributed processing in AWS's image; this one refuses
    config = {"dataset_type": "text/csv", "headers": ["a", "target"], "label": "target", "label_values_or_threshold": [1],
              "facet": [{"name_or_index": "a"}], "methods": {"pre_training_bias": {"methods": ["CI"]}}}
    code, logs = run_processing(clarify_image, tmp_path, config, {"d.csv": "1,0\n0,1\n"}, hosts=["algo-1", "algo-2"])
    assert code == 1
    assert (tmp_path / "output/message").read_text().startswith("ClientError: this job runs on 2 instances")
