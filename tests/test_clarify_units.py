"""Unit tests of the open Clarify-compatible processing container (containers/clarify-1.0/program), no Docker.

Two ways in:
- in-process (the `program_module` fixture): config checks, model requests and answers, endpoints (HTTP and
  boto3 with botocore's Stubber), the report writer. These need only packages the host has.
- the container's own Python stack: smclarify 0.5 needs pandas 2 (the host has pandas 3), and shap is not
  on the host. So the whole job runs as `python program/analyze` in build/clarify-venv, a virtual
  environment made from containers/clarify-1.0/requirements.txt (the same pins and the same
  `pip install --no-deps` as the image; made once, again when requirements.txt changes), against a
  temporary /opt/ml/processing tree; direct smclarify calls for comparison run there too.

Sources (each test names the one it follows):
- [cfg]  https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-configure-analysis.html
- [sdk]  sagemaker-core 2.27.0 (pinned by sagemaker 3.27.0) sagemaker/core/clarify/__init__.py:
         ANALYSIS_CONFIG_SCHEMA_V1_0, DataConfig, BiasConfig, ModelConfig, ModelPredictedLabelConfig, SHAPConfig,
         _AnalysisConfigGenerator
- [run]  https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-run.html (analysis.json example)
- [msg]  https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html#byoc-metadata
- [inv]  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html (6 MB payload)
- [smc]  smclarify 0.5: smclarify/bias/report.py bias_report, smclarify/bias/metrics/{pretraining,posttraining,
         common}.py (the metric definitions)
- [shap] shap 0.51 shap/explainers/_kernel.py (KernelExplainer: nsamples "auto", l1_reg default
         "num_features(10)") and shap/utils/_legacy.py kmeans
- [dg]   the developer guide's source, awsdocs/amazon-sagemaker-developer-guide @a869fa5 (the last commit with
         content), doc_source/: clarify-processing-job-configure-analysis.md (cited as [dg]:LINE),
         clarify-processing-job-run-troubleshooting.md ([dg-ts]:LINE), clarify-processing-job-run.md
         ([dg-run]:LINE), build-your-own-processing-container.md ([dg-byoc]:LINE)
Expected values are computed here by hand (counting, enumerating coalitions), or by smclarify itself,
never by the container's own helpers.
"""
import hashlib
import http.server
import itertools
import json
import math
import os
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

from smworkshop.paths import BUILD, CONTAINERS

CONTAINER = "clarify-1.0"
PROGRAM = CONTAINERS / CONTAINER / "program"
REQUIREMENTS = CONTAINERS / CONTAINER / "requirements.txt"
VENV = BUILD / "clarify-venv"


# ---- the container's Python stack -------------------------------------------------------------------

@pytest.fixture(scope="session")
def stack_python():
    """build/clarify-venv/bin/python with exactly the image's pins (made when missing or stale)."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    marker = VENV / "requirements.sha256"
    python = VENV / "bin" / "python"
    if not (marker.exists() and marker.read_text() == wanted and python.exists()):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                 "--no-deps", "--only-binary=:all:", "-r", str(REQUIREMENTS)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"cannot make {VENV} from {REQUIREMENTS}:\n{result.stderr[-3000:]}", pytrace=False)
        marker.write_text(wanted)
    return str(python)


def in_stack(stack_python, code, **values):
    """Run CODE in the container's stack with the program importable; VALUES arrive as JSON in `values`;
    whatever CODE prints as its last line comes back parsed as JSON."""
    prelude = f"import json, sys\nsys.path.insert(0, {str(PROGRAM)!r})\nvalues = json.loads(sys.stdin.read())\n"
    result = subprocess.run([stack_python, "-c", prelude + code], input=json.dumps(values),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


class Job:
    def __init__(self, code, log, root, message):
        self.code, self.log, self.root, self.message = code, log, root, message

    @property
    def analysis(self):
        return json.loads((self.root / "output" / "analysis.json").read_text())


def run_job(stack_python, root, config, files, env=None):
    """Lay out ROOT like /opt/ml/processing (config + data files) and run the job's entry point."""
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "data").mkdir(parents=True)
    (root / "input" / "config" / "analysis_config.json").write_text(
        config if isinstance(config, str) else json.dumps(config))
    for name, text in files.items():
        path = root / "input" / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    message = root.parent / f"{root.name}-message"
    environ = {k: v for k, v in os.environ.items() if k != "WORKSHOP_LOCAL_ENDPOINTS"}
    environ.update(CLARIFY_PROCESSING_DIR=str(root), CLARIFY_MESSAGE_FILE=str(message), **(env or {}))
    result = subprocess.run([stack_python, str(PROGRAM / "analyze")], capture_output=True, text=True,
                            env=environ, timeout=900)
    return Job(result.returncode, result.stdout + result.stderr, root,
               message.read_text() if message.exists() else None)


def csv_text(header, rows):
    return "\n".join([",".join(header)] + [",".join(str(v) for v in row) for row in rows]) + "\n"


# ---- tiny models behind HTTP (the serving-container contract: POST /invocations) -------------------------

def sigmoid(z):
    return 1 / (1 + math.exp(-z))


MODELS = {
    # three features with interactions: Shapley values are not just coefficients
    "tiny": lambda x: 0.2 * x[0] + 0.5 * x[1] * x[2] + 0.1 * x[2] ** 2,
    "linear12": lambda x: sum((i + 1) * v for i, v in enumerate(x)),
    "logistic": lambda x: sigmoid(0.8 * x[0] - 0.5 * x[1] + 0.3 * x[2]),
    "linear3": lambda x: 2 * x[0] - x[1] + 0.5 * x[2],
    "logistic2": lambda x: sigmoid(0.8 * x[0] - 0.5 * x[1]),
}


@pytest.fixture(scope="module")
def model_server():
    """One HTTP server for all tiny models: <url>/<model>/invocations answers text/csv, one score a line;
    <url>/strict-<model>/invocations answers 500 to a request of more than one row. Records each request's
    path and headers."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            name = self.path.split("/")[1]
            model = MODELS[name.removeprefix("strict-")]
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            seen.append({"path": self.path, "headers": dict(self.headers), "rows": body.count("\n")})
            if name.startswith("strict-") and body.count("\n") > 1:  # a model that takes one row per request
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b"cannot parse more than one record")
                return
            if self.headers.get("Content-Type") == "application/jsonlines":
                rows = [json.loads(line)["features"] for line in body.splitlines() if line]
                out = "".join(json.dumps({"score": model(r)}) + "\n" for r in rows)
            else:
                out = "".join(f"{model([float(v) for v in line.split(',')])!r}\n" for line in body.splitlines() if line)
            self.send_response(200)
            self.send_header("Content-Type", self.headers.get("Accept", "text/csv"))
            self.end_headers()
            self.wfile.write(out.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    names = [*MODELS, *(f"strict-{name}" for name in MODELS)]
    yield {"env": {"WORKSHOP_LOCAL_ENDPOINTS": json.dumps({name: f"{url}/{name}" for name in names})},
           "seen": seen, "url": url}
    server.shutdown()


# ---- config: accepted and refused ---------------------------------------------------------------------

@pytest.fixture
def config_module(program_module):
    return program_module(CONTAINER, "config")


@pytest.fixture
def errors_module(program_module):
    return program_module(CONTAINER, "errors")


def sdk_configs(tmp_path):
    """Configs written by the pinned SDK's own classes [sdk], for the tabular cases this container supports."""
    from sagemaker.core import clarify

    uri = f"file://{tmp_path}"
    headers = ["age", "sex", "hours", "target"]
    data = clarify.DataConfig(s3_data_input_path=uri, s3_output_path=uri, label="target", headers=headers,
                              dataset_type="text/csv")
    data_predicted = clarify.DataConfig(s3_data_input_path=uri, s3_output_path=uri, label="target",
                                        headers=headers + ["predicted"], dataset_type="text/csv",
                                        predicted_label="predicted", excluded_columns=["hours"])
    data_jsonl = clarify.DataConfig(s3_data_input_path=uri, s3_output_path=uri, label="label",
                                    features="features", headers=["age", "sex", "hours", "target"],
                                    dataset_type="application/jsonlines")
    bias = clarify.BiasConfig(label_values_or_threshold=[1], facet_name="sex", facet_values_or_threshold=[0],
                              group_name="hours")
    bias_two = clarify.BiasConfig(label_values_or_threshold=[1], facet_name=["sex", "age"],
                                  facet_values_or_threshold=[[0], [40]])
    endpoint = clarify.ModelConfig(endpoint_name="my-endpoint", content_type="text/csv", accept_type="text/csv")
    shadow = clarify.ModelConfig(model_name="my-model", instance_type="ml.m5.xlarge", instance_count=1,
                                 endpoint_name_prefix="workshop", content_type="text/csv", accept_type="text/csv",
                                 custom_attributes="lab-05")
    jsonl_model = clarify.ModelConfig(endpoint_name="my-endpoint", content_type="application/jsonlines",
                                      accept_type="application/jsonlines", content_template='{"features":$features}')
    threshold = clarify.ModelPredictedLabelConfig(probability_threshold=0.7)
    by_path = clarify.ModelPredictedLabelConfig(probability="score")
    shap_given = clarify.SHAPConfig(baseline=[[40, 1, 38]], num_samples=100, agg_method="mean_abs", seed=7,
                                    use_logit=True, save_local_shap_values=True)
    shap_clustered = clarify.SHAPConfig(num_clusters=3, agg_method="median", save_local_shap_values=False)
    gen = clarify._AnalysisConfigGenerator
    return {
        "pre-training": gen.bias_pre_training(data, bias, "all"),
        "pre-training, two facets, a list of metrics": gen.bias_pre_training(data, bias_two, ["CI", "DPL", "KS"]),
        "post-training from a predicted-label column": gen.bias_post_training(data_predicted, bias, None, "all", None),
        "bias with an endpoint and a threshold": gen.bias(data, bias, endpoint, threshold, "all", "all"),
        "bias and SHAP, shadow endpoint": gen.bias_and_explainability(data, shadow, threshold, shap_given, bias),
        "SHAP with clustered baseline": gen.explainability(data, endpoint, None, shap_clustered),
        "JSON Lines data and model": gen.explainability(data_jsonl, jsonl_model, by_path, shap_clustered),
    }


def test_configs_written_by_the_sdks_own_classes_are_accepted_as_they_are(config_module, tmp_path):
    # [sdk] _AnalysisConfigGenerator output, unchanged
    for name, config in sdk_configs(tmp_path).items():
        checked = config_module.validate(json.loads(json.dumps(config)))
        assert checked["dataset_type"] == config["dataset_type"], name


def test_a_job_runs_from_an_sdk_written_config_as_it_is(stack_python, tmp_path):
    # [sdk] DataConfig(predicted_label=..., excluded_columns=...) + BiasConfig(group_name=...) through
    # _AnalysisConfigGenerator.bias_post_training, run unchanged
    config = sdk_configs(tmp_path)["post-training from a predicted-label column"]
    rng = np.random.default_rng(4)
    rows = [[int(rng.integers(18, 70)), int(s), int(rng.integers(10, 60)), int(rng.random() < 0.3 + 0.3 * s),
             int(rng.random() < 0.3 + 0.2 * s)] for s in rng.integers(0, 2, 80)]
    job = run_job(stack_python, tmp_path / "job", config,
                  {"d.csv": csv_text(["age", "sex", "hours", "target", "predicted"], rows)})
    assert job.code == 0, job.log
    analysis = job.analysis
    assert len(values(analysis["post_training_bias_metrics"])) == 13
    assert (job.root / "output" / "report.html").exists()  # the SDK always asks for the report


def test_the_sdk_always_adds_a_report_section_and_it_is_honoured(config_module, tmp_path):
    # [sdk] _add_methods(report=True): {"name": "report", "title": "Analysis Report"}
    config = sdk_configs(tmp_path)["pre-training"]
    assert config["methods"]["report"] == {"name": "report", "title": "Analysis Report"}
    assert config_module.validate(config)["report"] == {"name": "report", "title": "Analysis Report"}


def test_metric_lists_are_smclarifys_registry(stack_python, config_module):
    # [smc] smclarify.bias.metrics.PRETRAINING_METRICS / POSTTRAINING_METRICS
    names = in_stack(stack_python, "import smclarify.bias.metrics as m\n"
                     "print(json.dumps([[f.__name__ for f in m.PRETRAINING_METRICS], "
                     "[f.__name__ for f in m.POSTTRAINING_METRICS]]))")
    assert names == [list(config_module.PRE_TRAINING_METRICS), list(config_module.POST_TRAINING_METRICS)]
    assert names == [["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"],
                     ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT", "GE"]]


BASE = {"dataset_type": "text/csv", "headers": ["age", "sex", "target"], "label": "target",
        "label_values_or_threshold": [1], "facet": [{"name_or_index": "sex", "value_or_threshold": [0]}],
        "methods": {"pre_training_bias": {"methods": "all"}}}
SHAP_BASE = {"dataset_type": "text/csv", "label": "target", "methods": {"shap": {}},
             "predictor": {"endpoint_name": "e"}}


def changed(base, path, value):
    config = json.loads(json.dumps(base))
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    if value is DELETE:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return config


DELETE = object()
CONFIG_ERRORS = [
    # (base, field path, new value, words the message must hold)
    (BASE, "colour", "red", "unsupported field `colour`"),
    (BASE, "dataset_uri", "s3://bucket/data.csv", "unsupported field `dataset_uri`: mount the data"),
    (BASE, "methods.pdp", {"grid_resolution": 10}, "unsupported field `methods.pdp`: partial dependence"),
    (BASE, "facet.0.colour", 1, "unsupported field `facet.0.colour`"),
    (BASE, "joinsource_name_or_index", "id", "unsupported field `joinsource_name_or_index`"),
    (SHAP_BASE, "methods.shap.features_to_explain", ["age"], "unsupported field `methods.shap.features_to_explain`"),
    (SHAP_BASE, "predictor.accelerator_type", "ml.eia1.medium", "unsupported field `predictor.accelerator_type`"),
    (SHAP_BASE, "methods.shap.baseline", "s3://bucket/baseline.csv", "baseline file (S3 URI) is not supported"),
    (BASE, "dataset_type", "application/x-parquet", "`dataset_type` is 'application/x-parquet'; supported: text/csv"),
    (BASE, "version", "2.0", "`version` is '2.0'; supported: 1.0"),
    (SHAP_BASE, "methods.shap.agg_method", "mean", "`methods.shap.agg_method` is 'mean'; supported: mean_abs"),
    (BASE, "probability_threshold", "0.5", "`probability_threshold`: '0.5' is not of type 'number'"),
    (BASE, "label", 1.5, "`label`: 1.5 is not of type"),
    (BASE, "dataset_type", DELETE, "'dataset_type' is a required property"),
    (BASE, "methods", {}, "`methods` names no analysis"),
    (BASE, "methods", {"report": {"name": "r"}}, "`methods` names no analysis"),
    (BASE, "label", DELETE, "`label` is required for pre_training_bias"),
    (BASE, "facet", DELETE, "`facet` is required for pre_training_bias"),
    (BASE, "label_values_or_threshold", DELETE, "`label_values_or_threshold` is required"),
    (BASE, "methods.pre_training_bias.methods", ["CI", "DCO"], "unknown metric(s) DCO"),
    (BASE, "methods.pre_training_bias.methods", [], "`methods.pre_training_bias.methods` is empty"),
    (BASE, "methods.pre_training_bias.methods", ["CDDL"], "CDDL need `group_variable`"),
    (BASE, "methods.post_training_bias", {"methods": "all"}, "`predictor` is required for post_training_bias"),
    (SHAP_BASE, "predictor", DELETE, "`predictor` is required for shap"),
    (SHAP_BASE, "facet", [{"name_or_index": "sex"}], "`facet` is only used by bias methods"),
    (SHAP_BASE, "predictor.model_name", "m", "has both `endpoint_name` and `model_name`"),
    (SHAP_BASE, "predictor", {"model_name": "m", "initial_instance_count": 1}, "(missing: instance_type)"),
    (SHAP_BASE, "predictor.endpoint_name_prefix", "abc", "cannot go with `endpoint_name`"),
    (SHAP_BASE, "predictor.content_type", "application/json", "`predictor.content_type` is 'application/json'"),
    # [dg]:150 endpoint_name_prefix: "its maximum length is 23"
    (changed(SHAP_BASE, "predictor", {"model_name": "m", "instance_type": "ml.m5.large", "initial_instance_count": 1}),
     "predictor.endpoint_name_prefix", "a" * 24, "`predictor.endpoint_name_prefix` 'aaaaaaaaaaaaaaaaaaaaaaaa' has 24 "
     "characters; at most 23"),
    # [dg]:163 content_template: "Required if the value of the content_type parameter is application/jsonlines"
    (SHAP_BASE, "predictor.content_type", "application/jsonlines", "`predictor.content_template` is required"),
    (SHAP_BASE, "predictor", {"endpoint_name": "e", "content_type": "application/jsonlines",
                              "content_template": '{"x": 1}'}, "has no $features placeholder"),
    (SHAP_BASE, "predictor.label", "score", "must be a column index for accept_type text/csv"),
    (SHAP_BASE, "predictor.accept_type", "application/json", "accept_type application/json needs"),
    (SHAP_BASE, "methods.shap.num_clusters", 0, "`methods.shap.num_clusters`: 0 is less than the minimum"),
    (changed(SHAP_BASE, "methods.shap.baseline", [[1, 2]]), "methods.shap.num_clusters", 3,
     "`methods.shap.baseline` and `methods.shap.num_clusters` cannot be given together"),
    (SHAP_BASE, "dataset_type", "application/jsonlines", "`features` (a JMESPath to the feature list) is required"),
    (SHAP_BASE, "features", "features", "`features` is for application/jsonlines datasets"),
]


@pytest.mark.parametrize("base, path, value, expected", CONFIG_ERRORS,
                         ids=[f"{path}={value if value is not DELETE else 'deleted'}" for _, path, value, _ in CONFIG_ERRORS])
def test_every_config_error_names_its_field(config_module, errors_module, base, path, value, expected):
    # [cfg] field list and types; [sdk] ANALYSIS_CONFIG_SCHEMA_V1_0 and ModelConfig's rules
    # (one of endpoint_name or model_name + instance_type + initial_instance_count; no prefix with an endpoint;
    # content_template needs $features; SHAPConfig: baseline and num_clusters not together)
    config_module.validate(base)  # the base is fine
    with pytest.raises(errors_module.UserError) as caught:
        config_module.validate(changed(base, path, value))
    assert expected in str(caught.value)


def test_a_config_that_is_not_json_or_missing_is_a_clear_error(config_module, errors_module, tmp_path):
    path = tmp_path / "analysis_config.json"
    with pytest.raises(errors_module.UserError, match="no analysis config: .* does not exist"):
        config_module.load(path)
    path.write_text("{'dataset_type': 'text/csv'}")
    with pytest.raises(errors_module.UserError, match="analysis_config.json is not valid JSON"):
        config_module.load(path)


def test_defaults_are_clarifys(config_module):
    # [cfg] probability_threshold 0.5; content_type = dataset_type; accept_type = content_type;
    # [sdk] SHAPConfig agg_method None -> "mean_abs"; report name "report", title "SageMaker Analysis Report"
    config = config_module.validate(changed(SHAP_BASE, "methods.report", {}))
    assert config["probability_threshold"] == 0.5
    assert config["predictor"]["content_type"] == "text/csv" and config["predictor"]["accept_type"] == "text/csv"
    assert config["shap"]["agg_method"] == "mean_abs" and config["shap"]["use_logit"] is False
    assert config["report"] == {"name": "report", "title": "SageMaker Analysis Report"}


# ---- data: which column is what -------------------------------------------------------------------------

@pytest.fixture
def dataset_module(program_module):
    return program_module(CONTAINER, "dataset")


def read(dataset_module, config_module, tmp_path, config, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return dataset_module.read(config_module.validate(config), tmp_path)


def test_csv_header_row_is_skipped_when_it_equals_headers_and_read_when_headers_are_absent(
        dataset_module, config_module, tmp_path):
    rows = csv_text(["age", "sex", "target"], [[30, 0, 1], [40, 1, 0]])
    with_headers = read(dataset_module, config_module, tmp_path, BASE, {"a.csv": rows})
    assert len(with_headers.frame) == 2 and with_headers.features == ["age", "sex"]
    (tmp_path / "a.csv").write_text(rows.split("\n", 1)[1])  # no header row
    assert len(read(dataset_module, config_module, tmp_path, BASE, {}).frame) == 2
    no_headers = changed(BASE, "headers", DELETE)
    (tmp_path / "a.csv").write_text(rows)
    assert list(read(dataset_module, config_module, tmp_path, no_headers, {}).frame.columns) == ["age", "sex", "target"]


def test_columns_can_be_named_by_index_and_excluded_columns_do_not_reach_the_model(
        dataset_module, config_module, tmp_path):
    config = {**BASE, "headers": ["id", "age", "sex", "target"], "label": 3, "excluded_columns": [0],
              "facet": [{"name_or_index": 2, "value_or_threshold": [0]}]}
    data = read(dataset_module, config_module, tmp_path, config, {"a.csv": "7,30,0,1\n8,40,1,0\n"})
    assert data.label == "target" and data.features == ["age", "sex"] and data.facets == [("sex", [0])]


@pytest.mark.parametrize("change, files, expected", [
    ({"label": "income"}, None, "`label` names column 'income', which the dataset does not have"),
    ({"facet": [{"name_or_index": 9}]}, None, "`facet.name_or_index` is column index 9, but there are 3 columns"),
    ({"headers": ["age", "sex"]}, None, "rows have 3 columns but `headers` names 2"),
    ({}, {}, "no data:"),
    ({"excluded_columns": ["age", "sex"]}, None, "no feature columns are left"),
])
def test_data_errors_name_the_problem(dataset_module, config_module, errors_module, tmp_path, change, files, expected):
    files = {"a.csv": "30,0,1\n40,1,0\n"} if files is None else files
    with pytest.raises(errors_module.UserError) as caught:
        read(dataset_module, config_module, tmp_path, {**BASE, **change}, files)
    assert expected in str(caught.value)


def test_json_lines_dataset_takes_features_and_label_by_jmespath_and_the_last_header_for_the_label(
        dataset_module, config_module, tmp_path):
    # [cfg] "If the dataset_type is application/jsonlines and label is specified, then the last header shall be
    # the header of label column"; `features`: JSONPath to the feature columns
    config = {**BASE, "dataset_type": "application/jsonlines", "features": "data.features", "label": "data.label"}
    lines = "".join(json.dumps({"data": {"features": [a, s], "label": y}}) + "\n" for a, s, y in [(30, 0, 1), (40, 1, 0)])
    data = read(dataset_module, config_module, tmp_path, config, {"a.jsonl": lines})
    assert data.label == "target" and data.features == ["age", "sex"]
    assert data.frame.to_dict("list") == {"age": [30, 40], "sex": [0, 1], "target": [1, 0]}


def test_an_endpoint_name_prefix_of_23_characters_is_accepted(config_module):
    # [dg]:150 "its maximum length is 23"; the 24-character case is in CONFIG_ERRORS
    shadow = {"model_name": "m", "instance_type": "ml.m5.large", "initial_instance_count": 1,
              "endpoint_name_prefix": "a" * 23}
    assert config_module.validate(changed(SHAP_BASE, "predictor", shadow))["predictor"]["endpoint_name_prefix"] == "a" * 23


# ---- CSV header rows: never a number read as a name, never a name read as data -----------------------------
# [dg]:36 headers: "If a value for headers is not provided, then the Clarify processing job reads the headers
# from the dataset. If the dataset doesn't have headers, then the Clarify processing job will automatically
# generate placeholder names based on zero-based column index ... column_0, column_1". How Clarify detects a
# missing header row is not documented: the container's rule (dataset.header_row_evidence) refuses where it
# cannot tell, and these tests pin that it never guesses.

NO_HEADERS = {k: v for k, v in BASE.items() if k != "headers"}


def test_a_csv_without_headers_or_a_header_row_gets_names_column_0_column_1_and_keeps_every_row(
        dataset_module, config_module, tmp_path):
    config = {**NO_HEADERS, "label": 2, "facet": [{"name_or_index": 1, "value_or_threshold": [0]}]}
    data = read(dataset_module, config_module, tmp_path, config, {"a.csv": "30,0,1\n40,1,0\n50,1,1\n"})
    assert list(data.frame.columns) == ["column_0", "column_1", "column_2"]
    assert len(data.frame) == 3 and data.frame["column_0"].tolist() == [30, 40, 50]  # the first row is data
    assert data.label == "column_2" and data.facets == [("column_1", [0])]


def test_a_header_row_that_differs_from_headers_even_only_in_case_is_refused(
        dataset_module, config_module, errors_module, tmp_path):
    rows = "30,0,1\n40,1,0\n"
    for header, expected in [("Age,Sex,Target", "differs from `headers` (age,sex,target) only in upper/lower case"),
                             ("years,gender,y", "is a header row but differs from `headers` (age,sex,target):")]:
        with pytest.raises(errors_module.UserError, match=re.escape(expected)):
            read(dataset_module, config_module, tmp_path, BASE, {"a.csv": f"{header}\n{rows}"})


def test_a_first_row_that_is_neither_clearly_names_nor_clearly_data_is_refused(
        dataset_module, config_module, errors_module, tmp_path):
    # a number where a name would be, above numbers: half a header row
    with pytest.raises(errors_module.UserError, match="cannot tell whether the first row .* column 0 holds numbers "
                                                      "under the text 'age', but column 1 starts with the number 1"):
        read(dataset_module, config_module, tmp_path, NO_HEADERS, {"a.csv": "age,1,target\n30,0,1\n40,1,0\n"})
    # free text that never repeats: nothing tells a header row from a data row
    with pytest.raises(errors_module.UserError, match="cannot tell .* Give the column names in `headers`"):
        read(dataset_module, config_module, tmp_path, {**NO_HEADERS, "label": "b", "facet": [{"name_or_index": "a"}]},
             {"a.csv": "a,b\nx,y\nz,w\n"})


def test_text_columns_tell_a_header_row_from_data_by_their_values(dataset_module, config_module, tmp_path):
    config = {**NO_HEADERS, "label": "target", "facet": [{"name_or_index": "sex", "value_or_threshold": ["F"]}]}
    rows = "F,yes\nM,no\nF,no\nM,yes\n"
    # "sex" is none of the values of a column of repeated values: a name
    data = read(dataset_module, config_module, tmp_path, config, {"a.csv": "sex,target\n" + rows})
    assert list(data.frame.columns) == ["sex", "target"] and len(data.frame) == 4
    # "F" and "yes" occur again in their columns: data
    by_index = {**NO_HEADERS, "label": 1, "facet": [{"name_or_index": 0, "value_or_threshold": ["F"]}]}
    data = read(dataset_module, config_module, tmp_path, by_index, {"a.csv": rows})
    assert list(data.frame.columns) == ["column_0", "column_1"] and len(data.frame) == 4


def test_files_with_and_without_a_header_row_are_refused_together(dataset_module, config_module, errors_module,
                                                                  tmp_path):
    files = {"a.csv": "age,sex,target\n30,0,1\n", "b.csv": "40,1,0\n50,0,1\n"}
    with pytest.raises(errors_module.UserError, match="do not have the same columns .*a.csv: header row age,sex,"
                                                      "target; b.csv: no header row"):
        read(dataset_module, config_module, tmp_path, NO_HEADERS, files)


def audit_probe(rows=600, seed=0):
    """The audit's probe: a header-less CSV of 600 people (age, sex, target)."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, rows)
    target = (rng.random(rows) < 0.3 + 0.2 * sex).astype(int)
    return list(zip(rng.integers(18, 70, rows).tolist(), sex.tolist(), target.tolist()))


def test_a_headerless_csv_is_analysed_row_for_row_never_with_its_first_row_as_names(stack_python, tmp_path):
    # [dg]:36 placeholder names column_0...; CI = (n_a - n_d) / n [smc] over all 600 rows
    rows = audit_probe()
    config = {"dataset_type": "text/csv", "label": 2, "label_values_or_threshold": [1],
              "facet": [{"name_or_index": 1, "value_or_threshold": [1]}],
              "methods": {"pre_training_bias": {"methods": ["CI"]}}}
    job = run_job(stack_python, tmp_path / "job", config, {"d.csv": "".join(f"{a},{s},{y}\n" for a, s, y in rows)})
    assert job.code == 0, job.log
    section = job.analysis["pre_training_bias_metrics"]
    n_d = sum(r[1] == 1 for r in rows)
    assert section["label"] == "column_2" and list(section["facets"]) == ["column_1"]
    assert values(section, "column_1")["CI"] == pytest.approx((len(rows) - 2 * n_d) / len(rows))
    assert "dataset read: 600 rows" in job.log


def test_a_header_row_in_other_case_than_headers_fails_the_job_instead_of_becoming_a_data_row(stack_python, tmp_path):
    config = {"dataset_type": "text/csv", "headers": ["age", "sex", "target"], "label": "target",
              "label_values_or_threshold": [1], "facet": [{"name_or_index": "sex", "value_or_threshold": [1]}],
              "methods": {"pre_training_bias": {"methods": ["CI"]}}}
    job = run_job(stack_python, tmp_path / "job", config, {"d.csv": csv_text(["Age", "Sex", "Target"], audit_probe())})
    assert job.code == 1 and not (job.root / "output" / "analysis.json").exists()
    assert job.message.startswith("ClientError: d.csv: the first row (Age,Sex,Target) is a header row but differs "
                                  "from `headers` (age,sex,target) only in upper/lower case")


# ---- JSON Lines names ------------------------------------------------------------------------------------------

def test_json_lines_without_headers_names_the_features_column_0_and_the_label_label0(
        dataset_module, config_module, tmp_path):
    # [dg]:454 "generate placeholders using generic names like column_0 or column_1 for feature headers, and
    # label0 for a label header"
    config = {**NO_HEADERS, "dataset_type": "application/jsonlines", "features": "f", "label": "y",
              "facet": [{"name_or_index": 1, "value_or_threshold": [0]}]}
    lines = "".join(json.dumps({"f": [a, s], "y": y}) + "\n" for a, s, y in [(30, 0, 1), (40, 1, 0)])
    data = read(dataset_module, config_module, tmp_path, config, {"a.jsonl": lines})
    assert data.features == ["column_0", "column_1"] and data.label == "label0" and data.facets == [("column_1", [0])]


def test_json_lines_headers_name_the_features_then_the_label_then_the_predicted_label(
        dataset_module, config_module, tmp_path):
    # [dg]:37-38 "headers should contain the following names in order: feature names, label name (if label is
    # specified), and predicted label name (if predicted_label is specified)"
    config = {**BASE, "dataset_type": "application/jsonlines", "features": "f", "label": "y", "predicted_label": "p",
              "headers": ["age", "sex", "target", "guess"]}
    lines = "".join(json.dumps({"f": [a, s], "y": y, "p": p}) + "\n" for a, s, y, p in [(30, 0, 1, 1), (40, 1, 0, 1)])
    data = read(dataset_module, config_module, tmp_path, config, {"a.jsonl": lines})
    assert data.features == ["age", "sex"] and data.label == "target" and data.predicted_label == "guess"
    assert data.frame["guess"].tolist() == [1, 1]


# ---- model answers and requests ----------------------------------------------------------------------

@pytest.fixture
def content(program_module):
    return program_module(CONTAINER, "content_types")


def test_csv_answer_without_label_is_one_score_per_line(content, errors_module):
    # [cfg] "If the label is not provided in the CSV accept_type case, then Clarify assumes that the model
    # output is a single numeric value corresponding to the score or probability."
    out = content.decode(b"0.25\n0.75\n", "text/csv", 2)
    assert out.labels is None and out.scores.tolist() == [0.25, 0.75]
    with pytest.raises(errors_module.UserError, match="2 fields per line"):
        content.decode(b"0.25,1\n0.75,0\n", "text/csv", 2)
    with pytest.raises(errors_module.UserError, match="answered 1 line"):
        content.decode(b"0.25\n", "text/csv", 2)


def test_csv_answer_label_and_probability_are_column_indices_and_a_quoted_list_is_a_list(content):
    # [cfg] example model output `Current,"[0.0289..., 0.8253..., ...]"` with "label": 0, "probability": 1
    body = b'Current,"[0.028986845165491104, 0.8253824710845947, 0.028993206098675728]"\n'
    out = content.decode(body, "text/csv", 1, label=0, probability=1)
    assert out.labels == ["Current"] and out.scores.shape == (1, 3) and out.scores[0, 1] == 0.8253824710845947


def test_json_lines_answer_label_and_probability_are_jmespaths(content):
    # [cfg] example `{"predicted_label": "Current", "score": "[...]"}` with "label": "predicted_label",
    # "probability": "score"
    body = b'{"predicted_label": "Current", "score": "[0.1, 0.9]"}\n{"predicted_label": "Other", "score": "[0.8, 0.2]"}\n'
    out = content.decode(body, "application/jsonlines", 2, label="predicted_label", probability="score")
    assert out.labels == ["Current", "Other"] and out.scores.tolist() == [[0.1, 0.9], [0.8, 0.2]]


def test_json_answer_is_one_document_per_batch_read_with_a_jmespath(content, errors_module):
    # The built-in XGBoost's application/json answer: {"predictions": [{"score": 0.43}, ...]}
    body = b'{"predictions": [{"score": 0.43}, {"score": 0.91}]}'
    assert content.decode(body, "application/json", 2, probability="predictions[*].score").scores.tolist() == [0.43, 0.91]
    with pytest.raises(errors_module.UserError, match="one value per row"):
        content.decode(body, "application/json", 3, probability="predictions[*].score")


def test_requests_are_batched_under_the_6_mb_payload_limit_in_row_order(content):
    # [inv] "Maximum payload size 6 MB"
    lines = [",".join(["1234567.891"] * 100) for _ in range(15000)]  # about 18 MB
    parts = list(content.batches(lines))
    assert len(parts) >= 3
    assert all(len(body) <= 6_000_000 for _, _, body in parts)
    assert b"".join(body for _, _, body in parts) == ("\n".join(lines) + "\n").encode()
    assert [start for start, _, _ in parts] == list(itertools.accumulate([0] + [n for _, n, _ in parts[:-1]]))


def test_json_lines_requests_fill_the_content_template(content):
    # [cfg] content_template '{"myfeatures":$features}' and instance 1,2,3 -> '{"myfeatures":[1,2,3]}'
    assert content.encode_rows(["1,2,3"], "application/jsonlines", '{"myfeatures":$features}') == ['{"myfeatures":[1, 2, 3]}']


# ---- endpoints: local URL, InvokeEndpoint, shadow endpoint -----------------------------------------------

@pytest.fixture
def predictor_module(program_module):
    return program_module(CONTAINER, "predictor")


def test_local_endpoints_come_from_workshop_local_endpoints_as_a_json_object(predictor_module, errors_module):
    environ = {"WORKSHOP_LOCAL_ENDPOINTS": '{"lab05": "http://algo-1-abcde:8080"}'}
    with predictor_module.connect({"endpoint_name": "lab05"}, say=lambda m: None, environ=environ) as endpoint:
        assert isinstance(endpoint, predictor_module.UrlEndpoint) and endpoint.url == "http://algo-1-abcde:8080"
    for value, expected in [('{"other": "http://x:8080"}', "endpoint 'lab05' is not in WORKSHOP_LOCAL_ENDPOINTS"),
                            ("lab05=http://x", "WORKSHOP_LOCAL_ENDPOINTS is not JSON"),
                            ('{"lab05": "x:8080"}', "mapping endpoint names to http(s) URLs")]:
        with pytest.raises(errors_module.UserError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            with predictor_module.connect({"endpoint_name": "lab05"}, say=lambda m: None,
                                          environ={"WORKSHOP_LOCAL_ENDPOINTS": value}):
                pass
    with pytest.raises(errors_module.UserError, match="model_name needs the SageMaker service"):
        with predictor_module.connect({"model_name": "m", "instance_type": "ml.m5.large", "initial_instance_count": 1},
                                      say=lambda m: None, environ=environ):
            pass


def test_url_endpoint_posts_to_invocations_with_content_type_accept_and_custom_attributes(
        predictor_module, model_server):
    endpoint = predictor_module.UrlEndpoint("tiny", f"{model_server['url']}/tiny")
    answer = endpoint.invoke(b"1,2,3\n", "text/csv", "text/csv", custom_attributes="lab-05")
    assert float(answer) == MODELS["tiny"]([1, 2, 3])
    request = model_server["seen"][-1]
    assert request["path"] == "/tiny/invocations"
    assert request["headers"]["Content-Type"] == "text/csv" and request["headers"]["Accept"] == "text/csv"
    assert request["headers"]["X-Amzn-SageMaker-Custom-Attributes"] == "lab-05"


def stubbed(service):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_without_local_endpoints_an_endpoint_is_called_with_invoke_endpoint(predictor_module):
    import io

    from botocore.response import StreamingBody

    runtime, stub = stubbed("sagemaker-runtime")
    stub.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(b"0.5\n"), 4), "ContentType": "text/csv"},
                      {"EndpointName": "lab05", "Body": b"1,2\n", "ContentType": "text/csv", "Accept": "text/csv",
                       "CustomAttributes": "lab-05"})
    with stub:
        with predictor_module.connect({"endpoint_name": "lab05"}, say=lambda m: None, environ={},
                                      client=lambda service: runtime) as endpoint:
            assert endpoint.invoke(b"1,2\n", "text/csv", "text/csv", custom_attributes="lab-05") == b"0.5\n"
        stub.assert_no_pending_responses()


def test_without_local_endpoints_or_a_region_the_job_says_how_to_hand_it_an_endpoint(
        predictor_module, errors_module, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(errors_module.UserError, match="AWS_REGION is unset.*WORKSHOP_LOCAL_ENDPOINTS"):
        with predictor_module.connect({"endpoint_name": "lab05"}, say=lambda m: None, environ={}):
            pass


def shadow_stubs(stub, *, status="InService", fail_create_endpoint=False):
    from botocore.stub import ANY

    stub.add_response("create_endpoint_config", {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/x"},
                      {"EndpointConfigName": ANY, "ProductionVariants": [
                          {"VariantName": "AllTraffic", "ModelName": "my-model", "InitialInstanceCount": 1,
                           "InstanceType": "ml.m5.xlarge"}]})
    if fail_create_endpoint:
        stub.add_client_error("create_endpoint", "ResourceLimitExceeded", "no capacity")
        stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": ANY})
        return
    stub.add_response("create_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/x"},
                      {"EndpointName": ANY, "EndpointConfigName": ANY})
    stub.add_response("describe_endpoint", describe("Creating"), {"EndpointName": ANY})
    stub.add_response("describe_endpoint", describe(status), {"EndpointName": ANY})
    stub.add_response("delete_endpoint", {}, {"EndpointName": ANY})
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": ANY})


def describe(status):
    import datetime

    now = datetime.datetime(2026, 1, 1)
    answer = {"EndpointName": "x", "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/x", "EndpointConfigName": "x",
              "EndpointStatus": status, "CreationTime": now, "LastModifiedTime": now}
    if status == "Failed":
        answer["FailureReason"] = "The model container did not pass the ping health check"
    return answer


def shadow(predictor_module, client, **kwargs):
    return predictor_module.shadow_endpoint(client, "my-model", "ml.m5.xlarge", 1, prefix="workshop",
                                            say=lambda m: None, poll_seconds=0, **kwargs)


def test_model_name_gets_a_temporary_shadow_endpoint_that_is_deleted_afterwards(predictor_module):
    # [cfg] instance_type / initial_instance_count "for the shadow endpoint"; endpoint_name_prefix "a custom
    # prefix to the name of the temporary endpoint"
    import re

    client, stub = stubbed("sagemaker")
    shadow_stubs(stub)
    with stub:
        with shadow(predictor_module, client) as name:
            assert re.fullmatch(r"workshop-\d{14}-[0-9a-f]{6}", name) and len(name) <= 63
        stub.assert_no_pending_responses()  # delete_endpoint and delete_endpoint_config were called


def test_the_shadow_endpoint_is_deleted_when_the_analysis_fails(predictor_module):
    client, stub = stubbed("sagemaker")
    shadow_stubs(stub)
    with stub:
        with pytest.raises(RuntimeError, match="analysis broke"):
            with shadow(predictor_module, client):
                raise RuntimeError("analysis broke")
        stub.assert_no_pending_responses()


def test_a_shadow_endpoint_that_fails_to_start_is_deleted_with_its_config_and_its_reason_reported(
        predictor_module, errors_module):
    client, stub = stubbed("sagemaker")
    shadow_stubs(stub, status="Failed")
    with stub:
        with pytest.raises(errors_module.UserError, match="is Failed: The model container did not pass"):
            with shadow(predictor_module, client):
                pass
        stub.assert_no_pending_responses()


def test_a_botocore_error_while_the_shadow_endpoint_is_made_is_a_client_error_and_what_was_made_is_deleted(
        predictor_module, errors_module):
    # A ClientError of CreateEndpoint (a quota, the role) is the user's to fix: UserError -> "ClientError: ..."
    # in /opt/ml/output/message, not an AlgorithmError with a traceback; the endpoint config made before it
    # is still deleted.
    client, stub = stubbed("sagemaker")
    shadow_stubs(stub, fail_create_endpoint=True)
    with stub:
        with pytest.raises(errors_module.UserError, match=r"CreateEndpoint for the temporary endpoint workshop-\S+ "
                                                          r"\(model my-model\) failed: .*no capacity"):
            with shadow(predictor_module, client):
                pass
        stub.assert_no_pending_responses()
    client, stub = stubbed("sagemaker")
    stub.add_client_error("create_endpoint_config", "AccessDeniedException", "not authorized to CreateEndpointConfig")
    with stub:
        with pytest.raises(errors_module.UserError, match="CreateEndpointConfig for the temporary endpoint .* not "
                                                          "authorized"):
            with shadow(predictor_module, client):
                pass
        stub.assert_no_pending_responses()  # nothing was made, so nothing is deleted


# ---- per-record fallback ------------------------------------------------------------------------------------
# [dg-ts]:52-54 "Model returns 500 Internal Server Error or container falls back to per-record predictions due
# to model error": "Fallback to per-record prediction because of model error ... could indicate that model
# cannot handle the batch size, or be throttled, or just does not accept the input"

class OneRowAtATime:
    """An endpoint that scores x0 / 10 but rejects any request of more than one row, and rows with x0 < 0."""

    def __init__(self, errors_module):
        self.errors, self.bodies = errors_module, []

    def invoke(self, body, content_type, accept, custom_attributes=None, target_model=None):
        self.bodies.append(body)
        rows = body.decode().splitlines()
        if len(rows) > 1:
            raise self.errors.ModelError("endpoint 'e' answered 413: payload too large")
        if float(rows[0].split(",")[0]) < 0:
            raise self.errors.ModelError("endpoint 'e' answered 500: cannot score")
        return f"{float(rows[0].split(',')[0]) / 10}\n".encode()


def test_a_batch_the_model_rejects_is_asked_again_one_row_per_request(predictor_module, errors_module):
    endpoint, said = OneRowAtATime(errors_module), []
    model = predictor_module.Model(endpoint, {"content_type": "text/csv", "accept_type": "text/csv"}, said.append)
    out = model.predict_lines(["1,0", "2,0", "3,0"])
    assert out.scores.tolist() == [0.1, 0.2, 0.3]  # in row order
    assert endpoint.bodies == [b"1,0\n2,0\n3,0\n", b"1,0\n", b"2,0\n", b"3,0\n"]
    assert said == ["Fallback to per-record prediction because of model error: endpoint 'e' answered 413: "
                    "payload too large"]
    assert model.fallbacks == 1


def test_a_row_the_model_rejects_on_its_own_fails_the_job_naming_the_row(predictor_module, errors_module):
    model = predictor_module.Model(OneRowAtATime(errors_module), {"content_type": "text/csv", "accept_type": "text/csv"},
                                   lambda m: None)
    with pytest.raises(errors_module.UserError, match="rejected a batch of rows .*413.* and then row 1 on its own: "
                                                      ".*500: cannot score"):
        model.predict_lines(["1,0", "-2,0", "3,0"])


def test_an_invoke_endpoint_model_error_for_a_batch_falls_back_to_one_row_per_request(predictor_module):
    import io

    from botocore.response import StreamingBody

    runtime, stub = stubbed("sagemaker-runtime")
    stub.add_client_error("invoke_endpoint", "ModelError", "Received server error (500) from primary", 424,
                          expected_params={"EndpointName": "lab05", "Body": b"1,2\n3,4\n", "ContentType": "text/csv",
                                           "Accept": "text/csv"})
    for body, answer in ((b"1,2\n", b"0.25\n"), (b"3,4\n", b"0.75\n")):
        stub.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(answer), len(answer))},
                          {"EndpointName": "lab05", "Body": body, "ContentType": "text/csv", "Accept": "text/csv"})
    said = []
    with stub:
        model = predictor_module.Model(predictor_module.SageMakerEndpoint("lab05", runtime),
                                       {"content_type": "text/csv", "accept_type": "text/csv"}, said.append)
        assert model.predict_lines(["1,2", "3,4"]).scores.tolist() == [0.25, 0.75]
        stub.assert_no_pending_responses()
    assert said[0].startswith("Fallback to per-record prediction because of model error: InvokeEndpoint 'lab05' "
                              "failed: An error occurred (ModelError)")


def test_a_job_against_a_model_that_takes_one_row_per_request_completes(stack_python, tmp_path, model_server):
    # the whole job through HTTP: the strict model answers 500 to every batch, then each row alone
    rows = [(1, 0, 0, "F", 1), (0, 1, 0, "F", 0), (2, 0, 1, "M", 1), (0, 0, 0, "M", 0)] * 12
    config = {"dataset_type": "text/csv", "label": "y", "label_values_or_threshold": [1], "excluded_columns": ["sex"],
              "facet": [{"name_or_index": "sex", "value_or_threshold": ["F"]}],
              "methods": {"post_training_bias": {"methods": ["DPPL"]}}, "predictor": {"endpoint_name": "strict-logistic"}}
    job = run_job(stack_python, tmp_path / "job", config, {"d.csv": csv_text(["x0", "x1", "x2", "sex", "y"], rows)},
                  env=model_server["env"])
    assert job.code == 0, job.log
    assert "Fallback to per-record prediction because of model error: endpoint 'strict-logistic'" in job.log
    assert "the model answered 48 request(s); 1 batch(es) were asked again one row per request" in job.log
    predicted = [int(MODELS["logistic"](r[:3]) > 0.5) for r in rows]
    qa = np.mean([p for p, r in zip(predicted, rows) if r[3] == "M"])
    qd = np.mean([p for p, r in zip(predicted, rows) if r[3] == "F"])
    assert values(job.analysis["post_training_bias_metrics"])["DPPL"] == pytest.approx(qa - qd)


# ---- bias metrics: by hand and against smclarify ----------------------------------------------------------

# Ten people. sex F is the sensitive group (d), M the other (a); label "yes" is the positive outcome.
# Text columns keep smclarify's type heuristic on "categorical" (a 0/1 integer column of ten rows has 20 %
# distinct values and would count as continuous [smc] common.series_datatype).
HAND = [  # sex, group, label, predicted
    ("M", "g1", "yes", "yes"), ("M", "g1", "yes", "yes"), ("M", "g2", "yes", "no"), ("M", "g2", "no", "yes"),
    ("M", "g2", "no", "no"), ("M", "g1", "no", "no"),
    ("F", "g1", "yes", "yes"), ("F", "g2", "no", "no"), ("F", "g2", "no", "yes"), ("F", "g1", "no", "no"),
]


def hand_metrics():
    """Every metric from its definition [smc docstrings], by counting."""
    def count(rows, **want):
        keys = ("sex", "group", "label", "predicted")
        return sum(all(row[keys.index(k)] == v for k, v in want.items()) for row in rows)

    n = len(HAND)
    a = [r for r in HAND if r[0] == "M"]
    d = [r for r in HAND if r[0] == "F"]
    na, nd = len(a), len(d)
    qa, qd = count(a, label="yes") / na, count(d, label="yes") / nd
    pa, pd_ = np.array([qa, 1 - qa]), np.array([qd, 1 - qd])
    p = (pa + pd_) / 2

    def cdd(column):
        total = 0.0
        for g in ("g1", "g2"):
            rows = [r for r in HAND if r[1] == g]
            accepted = [r for r in rows if r[column] == "yes"]
            rejected = [r for r in rows if r[column] == "no"]
            dd = (sum(r[0] == "F" for r in rejected) / len(rejected)) - (sum(r[0] == "F" for r in accepted) / len(accepted))
            total += len(rows) * dd
        return total / n

    def confusion(rows):
        return {"TP": sum(r[2] == "yes" and r[3] == "yes" for r in rows), "FN": sum(r[2] == "yes" and r[3] == "no" for r in rows),
                "FP": sum(r[2] == "no" and r[3] == "yes" for r in rows), "TN": sum(r[2] == "no" and r[3] == "no" for r in rows)}

    ca_, cd_ = confusion(a), confusion(d)
    qa_hat, qd_hat = count(a, predicted="yes") / na, count(d, predicted="yes") / nd
    benefit = np.array([(r[3] == "yes") - (r[2] == "yes") + 1 for r in HAND], dtype=float)
    pre = {
        "CI": (na - nd) / n,
        "DPL": qa - qd,
        "KL": float(np.sum(pa * np.log(pa / pd_))),
        "JS": float(0.5 * (np.sum(pa * np.log(pa / p)) + np.sum(pd_ * np.log(pd_ / p)))),
        "LP": float(np.sqrt(np.sum((pa - pd_) ** 2))),
        "TVD": float(0.5 * np.sum(np.abs(pa - pd_))),
        "KS": float(np.max(np.abs(pa - pd_))),
        "CDDL": cdd(2),
    }
    post = {
        "DPPL": qa_hat - qd_hat,
        "DI": qd_hat / qa_hat,
        "DCA": (ca_["TP"] + ca_["FN"]) / (ca_["TP"] + ca_["FP"]) - (cd_["TP"] + cd_["FN"]) / (cd_["TP"] + cd_["FP"]),
        "DCR": (cd_["TN"] + cd_["FP"]) / (cd_["TN"] + cd_["FN"]) - (ca_["TN"] + ca_["FP"]) / (ca_["TN"] + ca_["FN"]),
        "RD": ca_["TP"] / (ca_["TP"] + ca_["FN"]) - cd_["TP"] / (cd_["TP"] + cd_["FN"]),
        "SD": cd_["TN"] / (cd_["TN"] + cd_["FP"]) - ca_["TN"] / (ca_["TN"] + ca_["FP"]),
        "DAR": ca_["TP"] / (ca_["TP"] + ca_["FP"]) - cd_["TP"] / (cd_["TP"] + cd_["FP"]),
        "DRR": cd_["TN"] / (cd_["TN"] + cd_["FN"]) - ca_["TN"] / (ca_["TN"] + ca_["FN"]),
        "AD": (ca_["TP"] + ca_["TN"]) / na - (cd_["TP"] + cd_["TN"]) / nd,
        "CDDPL": cdd(3),
        "TE": cd_["FN"] / cd_["FP"] - ca_["FN"] / ca_["FP"],
        "GE": float(((benefit / benefit.mean()) ** 2 - 1).sum() / (n * 2 * 1)),
    }
    return pre, post


def hand_job(stack_python, tmp_path, methods="all"):
    config = {"dataset_type": "text/csv", "label": "label", "predicted_label": "predicted",
              "label_values_or_threshold": ["yes"], "facet": [{"name_or_index": "sex", "value_or_threshold": ["F"]}],
              "group_variable": "group", "excluded_columns": ["group"],
              "methods": {"pre_training_bias": {"methods": methods}, "post_training_bias": {"methods": methods}}}
    return run_job(stack_python, tmp_path / "job", config,
                   {"people.csv": csv_text(["sex", "group", "label", "predicted"], HAND)})


def values(section, facet="sex"):
    (entry,) = section["facets"][facet]
    return {m["name"]: m["value"] for m in entry["metrics"]}


def test_pre_training_metrics_equal_the_definitions_computed_by_hand(stack_python, tmp_path):
    # [smc] pretraining.py: CI = (na - nd)/n, DPL = qa - qd, KL/JS/LP/TVD/KS over the label distributions of
    # the two groups, CDDL = sum_i n_i DD_i / n with DD_i = share of the sensitive group among the rejected
    # minus among the accepted in subgroup i
    job = hand_job(stack_python, tmp_path)
    assert job.code == 0, job.log
    pre, _ = hand_metrics()
    got = values(job.analysis["pre_training_bias_metrics"])
    assert pre["CI"] == pytest.approx(0.2) and pre["DPL"] == pytest.approx(0.5 - 0.25)  # read off the table above
    assert got == pytest.approx(pre)


def test_post_training_metrics_equal_the_definitions_computed_by_hand(stack_python, tmp_path):
    # [smc] posttraining.py and common.py (DCO, DLR, DLA, CDD, GE with alpha 2); FT is checked against smclarify
    # below (a k-nearest-neighbours test, not a count)
    job = hand_job(stack_python, tmp_path)
    assert job.code == 0, job.log
    _, post = hand_metrics()
    got = values(job.analysis["post_training_bias_metrics"])
    assert set(got) == set(post) | {"FT"}
    assert {k: got[k] for k in post} == pytest.approx(post)


def test_a_list_of_methods_computes_only_those(stack_python, tmp_path):
    job = hand_job(stack_python, tmp_path, ["CI", "DPPL", "KS"])
    # pre- and post-training lists are separate: each section keeps the names of its own stage
    assert job.code != 0 and "unknown metric(s) DPPL" in job.message
    config = json.loads((tmp_path / "job" / "input" / "config" / "analysis_config.json").read_text())
    config["methods"] = {"pre_training_bias": {"methods": ["KS", "CI"]}, "post_training_bias": {"methods": ["DPPL"]}}
    job = run_job(stack_python, tmp_path / "job2", config, {"people.csv": csv_text(["sex", "group", "label", "predicted"], HAND)})
    assert list(values(job.analysis["pre_training_bias_metrics"])) == ["CI", "KS"]
    assert list(values(job.analysis["post_training_bias_metrics"])) == ["DPPL"]


def random_people(rows=400, seed=3):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], rows)
    age = rng.integers(18, 70, rows)
    hours = np.round(rng.uniform(10, 60, rows), 1)
    group = rng.choice(["north", "south", "east"], rows)
    score = 1 / (1 + np.exp(-(0.04 * (age - 40) + 0.05 * (hours - 35) + 0.6 * (sex == "M"))))
    label = (rng.random(rows) < score).astype(int)
    predicted = (score > 0.5).astype(int)
    header = ["age", "hours", "sex", "group", "target", "predicted"]
    return header, list(zip(age, hours, sex, group, label, predicted))


SMCLARIFY_DIRECT = """
import pandas as pd
from smclarify.bias import report
df = pd.read_csv(values["csv"])
out = {}
for stage, key in (("pre", report.StageType.PRE_TRAINING), ("post", report.StageType.POST_TRAINING)):
    facets = {}
    for name, facet_values in values["facets"]:
        frame = df[list(dict.fromkeys(["age", "hours", "sex", name, "target"]))]  # features + facet + label
        facets.setdefault(name, []).extend(report.bias_report(
            frame, report.FacetColumn(name, facet_values), report.LabelColumn("target", df["target"], [1]), key,
            predicted_label_column=report.LabelColumn("predicted", df["predicted"], [1]) if stage == "post" else None,
            metrics=["all"], group_variable=df["group"]))
    out[stage] = facets
print(json.dumps(out))
"""


def test_every_metric_equals_a_direct_smclarify_bias_report_call_on_the_same_data(stack_python, tmp_path):
    # [smc] report.bias_report: categorical facet with a value, categorical facet without (one group per value),
    # continuous facet with a threshold; the group variable for CDDL/CDDPL
    header, rows = random_people()
    facets = [["sex", ["F"]], ["group", None], ["age", [50]]]
    config = {"dataset_type": "text/csv", "label": "target", "predicted_label": "predicted",
              "label_values_or_threshold": [1], "group_variable": "group", "excluded_columns": ["group"],
              "facet": [{"name_or_index": n, **({"value_or_threshold": v} if v else {})} for n, v in facets],
              "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}}
    job = run_job(stack_python, tmp_path / "job", config, {"people.csv": csv_text(header, rows)})
    assert job.code == 0, job.log
    direct = in_stack(stack_python, SMCLARIFY_DIRECT, csv=str(tmp_path / "job" / "input" / "data" / "people.csv"),
                      facets=facets)
    ours = job.analysis
    assert ours["pre_training_bias_metrics"]["facets"] == direct["pre"]
    assert ours["post_training_bias_metrics"]["facets"] == direct["post"]
    assert len(direct["pre"]["group"]) == 3  # one entry per value when no value is given
    names = {m["name"] for e in ours["post_training_bias_metrics"]["facets"]["sex"] for m in e["metrics"]}
    assert len(names) == 13


def test_model_scores_become_labels_above_probability_threshold(stack_python, tmp_path, model_server):
    # [cfg] probability_threshold: "the threshold to select the binary label ... default 0.5"; [sdk]
    # ModelPredictedLabelConfig: "apply a threshold ... to obtain a predicted label in {0, 1}"
    # 48 rows: a 0/1 integer label with more than 5 % distinct values would count as continuous [smc]
    rows = [(1, 0, 0, "F", 1), (0, 1, 0, "F", 0), (2, 0, 1, "M", 1), (0, 0, 0, "M", 0), (1, 1, 1, "M", 1),
            (-1, 1, 0, "F", 0), (3, 0, 0, "M", 1), (0, 2, 1, "F", 0)] * 6
    for threshold in (0.5, 0.7):
        config = {"dataset_type": "text/csv", "label": "y", "label_values_or_threshold": [1],
                  "probability_threshold": threshold, "excluded_columns": ["sex"],
                  "facet": [{"name_or_index": "sex", "value_or_threshold": ["F"]}],
                  "methods": {"post_training_bias": {"methods": ["DPPL"]}},
                  "predictor": {"endpoint_name": "logistic"}}
        job = run_job(stack_python, tmp_path / f"job{threshold}", config,
                      {"d.csv": csv_text(["x0", "x1", "x2", "sex", "y"], rows)}, env=model_server["env"])
        assert job.code == 0, job.log
        predicted = [int(MODELS["logistic"](r[:3]) > threshold) for r in rows]
        qa = np.mean([p for p, r in zip(predicted, rows) if r[3] == "M"])
        qd = np.mean([p for p, r in zip(predicted, rows) if r[3] == "F"])
        assert values(job.analysis["post_training_bias_metrics"])["DPPL"] == pytest.approx(qa - qd)


# ---- SHAP ---------------------------------------------------------------------------------------------

def exact_shapley(f, x, baseline):
    """Shapley values of f at x with the value function v(S) = mean over baseline rows b of f(x_S, b_rest),
    by enumerating every coalition."""
    m = len(x)

    def v(coalition):
        return np.mean([f([x[i] if i in coalition else b[i] for i in range(m)]) for b in baseline])

    phi = np.zeros(m)
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for size in range(m):
            for s in itertools.combinations(others, size):
                weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
                phi[i] += weight * (v(set(s) | {i}) - v(set(s)))
    return phi, np.mean([f(b) for b in baseline])


TINY_ROWS = [(1, 2, 3), (0, 1, 1), (2, 0, 1), (1, 1, 0), (3, 2, 2)]


def shap_job(stack_python, tmp_path, model_server, shap, model="tiny", rows=TINY_ROWS, name="job"):
    header = [f"x{i}" for i in range(len(rows[0]))]
    config = {"dataset_type": "text/csv", "label": "y", "methods": {"shap": shap},
              "predictor": {"endpoint_name": model, "content_type": "text/csv", "accept_type": "text/csv"}}
    job = run_job(stack_python, tmp_path / name, config,
                  {"d.csv": csv_text(header + ["y"], [list(r) + [0] for r in rows])}, env=model_server["env"])
    assert job.code == 0, job.log
    return job


def local_values(job):
    import csv

    with open(job.root / "output" / "explanations_shap" / "out.csv") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        return header, np.array([[float(v) for v in row] for row in reader])


def test_kernel_shap_equals_exact_shapley_values_of_a_3_feature_model(stack_python, tmp_path, model_server):
    # [shap] with 3 features KernelExplainer enumerates all 2^3 - 2 coalitions, so Kernel SHAP is exact
    baseline = [[0, 0, 0], [1, 1, 1]]
    job = shap_job(stack_python, tmp_path, model_server, {"baseline": baseline, "save_local_shap_values": True})
    header, local = local_values(job)
    # <feature>_label0: AWS's example notebooks strip "_label0" from out.csv's column names to get the features
    # (amazon-sagemaker-examples sagemaker-clarify/fairness_and_explainability/fairness_and_explainability.ipynb:
    # `feature_names = [str.replace(c, "_label0", "") for c in local_explanations_out.columns.to_series()]`)
    assert header == ["x0_label0", "x1_label0", "x2_label0"]
    for row, got in zip(TINY_ROWS, local):
        phi, expected = exact_shapley(MODELS["tiny"], row, baseline)
        assert got == pytest.approx(phi, abs=1e-9)
    label0 = job.analysis["explanations"]["kernel_shap"]["label0"]
    assert label0["expected_value"] == pytest.approx(expected)
    # mean_abs, the default aggregation [cfg]
    assert list(label0["global_shap_values"].values()) == pytest.approx(np.abs(local).mean(axis=0).tolist())


def test_every_feature_gets_a_shap_value_because_l1_regularisation_is_off(stack_python, tmp_path, model_server):
    # [shap] KernelExplainer's l1_reg default "num_features(10)" would keep only 10 of these 12 features.
    # For a linear model with one baseline row b the exact values are coef_i * (x_i - b_i).
    rows = [tuple(float(v) for v in np.arange(12) % 5 + k) for k in (1, 2, 3)]  # no value equals the baseline's 0
    job = shap_job(stack_python, tmp_path, model_server, {"baseline": [[0] * 12], "save_local_shap_values": True,
                                                           "seed": 1}, model="linear12", rows=rows)
    _, local = local_values(job)
    expected = np.array([[(i + 1) * v for i, v in enumerate(row)] for row in rows])
    assert np.count_nonzero(np.abs(local) > 1e-6, axis=1).tolist() == [12, 12, 12]
    assert local == pytest.approx(expected, abs=1e-6)


def test_without_a_baseline_the_baseline_is_kmeans_cluster_centres_of_the_data(stack_python, tmp_path, model_server):
    # [cfg] "If baseline is not provided, Clarify attempts to compute a baseline by clustering the dataset.
    # num_clusters determines the number of clusters"; [shap] kmeans weights each centre by its cluster size.
    # Data with exactly three distinct rows and num_clusters 3: the centres are those rows, weighted by their
    # counts, so the expected value is the mean of f over the data.
    rows = [(1, 2, 3)] * 5 + [(0, 1, 1)] * 3 + [(4, 0, 2)] * 2
    job = shap_job(stack_python, tmp_path, model_server, {"num_clusters": 3}, model="linear3", rows=rows)
    label0 = job.analysis["explanations"]["kernel_shap"]["label0"]
    assert label0["expected_value"] == pytest.approx(np.mean([MODELS["linear3"](r) for r in rows]))
    # and with one cluster the single centre is the data's (rounded) mean row: fewer model calls per row
    one = shap_job(stack_python, tmp_path, model_server, {"num_clusters": 1}, model="linear3", rows=rows, name="one")
    assert "K-means with 1 clusters" in one.log


def test_without_num_clusters_the_number_of_clusters_is_chosen_between_1_and_12(stack_python, tmp_path, model_server):
    # [dg]:116 "If baseline is not specified, the Clarify processing job attempts to compute the baseline dataset by
    # dividing the tabular dataset into an optimal number of clusters between 1 and 12". How "optimal" is found is
    # not documented; here the best silhouette score. Three distinct rows: three clusters, each centre one of the
    # rows weighted by its count, so the expected value is the mean of f over the data.
    rows = [(1, 2, 3)] * 5 + [(0, 1, 1)] * 3 + [(4, 0, 2)] * 2
    job = shap_job(stack_python, tmp_path, model_server, {}, model="linear3", rows=rows)
    assert "K-means with 3 clusters over 10 rows (the best silhouette score" in job.log
    label0 = job.analysis["explanations"]["kernel_shap"]["label0"]
    assert label0["expected_value"] == pytest.approx(np.mean([MODELS["linear3"](r) for r in rows]))
    # rows that are all the same: one cluster
    same = shap_job(stack_python, tmp_path, model_server, {}, model="linear3", rows=[(1, 2, 3)] * 4, name="same")
    assert "K-means with 1 clusters over 4 rows (every row is the same)" in same.log
    # many distinct rows: never more than 12
    many = [tuple(float(v) for v in (i, (i * 7) % 30, (i * 13) % 30)) for i in range(30)]
    spread = shap_job(stack_python, tmp_path, model_server, {"num_samples": 20}, model="linear3", rows=many, name="many")
    chosen = int(re.search(r"K-means with (\d+) clusters", spread.log).group(1))
    assert 2 <= chosen <= 12


def test_label_headers_name_the_explained_outputs_instead_of_label0(stack_python, tmp_path, model_server, errors_module):
    # [dg]:171 label_headers: "If explainability analysis is requested, the label headers are used to beautify the
    # analysis report"; [sdk] ModelPredictedLabelConfig: "used to beautify the analysis report by replacing
    # placeholders like 'label0'"; the model monitor's explainability parameters
    # (clarify-config-json-monitor-model-explainability-parameters.md:23): "the analysis report uses the headers
    # instead of placeholders like label0"
    def run(label_headers, name):
        config = {"dataset_type": "text/csv", "label": "y",
                  "methods": {"shap": {"baseline": [[0, 0, 0]], "save_local_shap_values": True}},
                  "predictor": {"endpoint_name": "tiny", "label_headers": label_headers}}
        return run_job(stack_python, tmp_path / name, config,
                       {"d.csv": csv_text(["x0", "x1", "x2", "y"], [[1, 2, 3, 0], [0, 1, 1, 1]])}, env=model_server["env"])

    job = run([">50K"], "named")
    assert job.code == 0, job.log
    assert list(job.analysis["explanations"]["kernel_shap"]) == [">50K"]
    assert local_values(job)[0] == ["x0_>50K", "x1_>50K", "x2_>50K"]
    wrong = run(["no", "yes"], "wrong")
    assert wrong.code == 1 and "`predictor.label_headers` names 2 labels; the model gives 1 score(s)" in wrong.message


def test_text_features_are_refused_for_shap_a_difference_from_awss_image(stack_python, tmp_path, model_server):
    # Pins the README's "Differences from AWS's image" row: AWS's Clarify builds a K-prototypes baseline for text
    # columns ([sdk] SHAPConfig: "K-means (for numerical data) or K-prototypes (if there is categorical data)");
    # this container refuses them with a ClientError that says to encode them.
    config = {"dataset_type": "text/csv", "label": "y", "methods": {"shap": {}}, "predictor": {"endpoint_name": "tiny"}}
    job = run_job(stack_python, tmp_path / "job", config,
                  {"d.csv": csv_text(["x0", "colour", "x2", "y"], [[1, "red", 3, 0], [0, "blue", 1, 1]])},
                  env=model_server["env"])
    assert job.code == 1
    assert job.message.startswith("ClientError: SHAP needs numeric features in this container; the dataset has text "
                                  "in: colour")


@pytest.mark.parametrize("method, aggregate", [
    ("mean_abs", lambda v: np.mean(np.abs(v), axis=0)),
    ("median", lambda v: np.median(v, axis=0)),
    ("mean_sq", lambda v: np.mean(np.square(v), axis=0)),
])
def test_global_shap_values_aggregate_the_local_ones_with_agg_method(stack_python, tmp_path, model_server, method,
                                                                      aggregate):
    # [cfg] mean_abs "Mean of absolute SHAP values for all instances", median "Median of SHAP values for all
    # instances", mean_sq "Mean of squared SHAP values for all instances"
    # baseline [1, 1, 1]: rows with values below 1 get negative SHAP values, so the aggregations differ
    job = shap_job(stack_python, tmp_path, model_server,
                   {"baseline": [[1, 1, 1]], "agg_method": method, "save_local_shap_values": True})
    _, local = local_values(job)
    got = job.analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert list(got.values()) == pytest.approx(aggregate(local).tolist())


def test_use_logit_gives_shap_values_in_log_odds(stack_python, tmp_path, model_server):
    # [cfg] "If use_logit is true, then the SHAP values have log-odds units": local accuracy in logit space
    baseline = [[0, 0, 0], [1, 2, 0]]
    job = shap_job(stack_python, tmp_path, model_server,
                   {"baseline": baseline, "use_logit": True, "save_local_shap_values": True}, model="logistic")
    _, local = local_values(job)
    expected_value = job.analysis["explanations"]["kernel_shap"]["label0"]["expected_value"]
    mean_score = np.mean([MODELS["logistic"](b) for b in baseline])
    assert expected_value == pytest.approx(math.log(mean_score / (1 - mean_score)))
    for row, phi in zip(TINY_ROWS, local):
        score = MODELS["logistic"](row)
        assert phi.sum() == pytest.approx(math.log(score / (1 - score)) - expected_value, abs=1e-9)


def test_seed_makes_sampled_kernel_shap_repeatable(stack_python, tmp_path, model_server):
    # [cfg] seed "to obtain a deterministic SHAP result"; 12 features with num_samples 40 samples coalitions
    rows = [tuple(float((i * 7 + k) % 5) for i in range(12)) for k in range(2)]
    settings = {"baseline": [[0] * 12], "num_samples": 40, "seed": 11, "save_local_shap_values": True}
    first = local_values(shap_job(stack_python, tmp_path, model_server, settings, "linear12", rows, "a"))[1]
    second = local_values(shap_job(stack_python, tmp_path, model_server, settings, "linear12", rows, "b"))[1]
    assert first.tolist() == second.tolist()


def test_shap_through_a_json_lines_model(stack_python, tmp_path, model_server):
    # [cfg] content_type application/jsonlines with content_template; accept_type jsonlines with probability
    config = {"dataset_type": "text/csv", "label": "y", "methods": {"shap": {"baseline": [[0, 0, 0]]}},
              "predictor": {"endpoint_name": "tiny", "content_type": "application/jsonlines",
                            "content_template": '{"features":$features}', "accept_type": "application/jsonlines",
                            "probability": "score"}}
    job = run_job(stack_python, tmp_path / "job", config, {"d.csv": csv_text(["x0", "x1", "x2", "y"], [[1, 2, 3, 0]])},
                  env=model_server["env"])
    assert job.code == 0, job.log
    phi, _ = exact_shapley(MODELS["tiny"], (1, 2, 3), [[0, 0, 0]])
    got = job.analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert list(got.values()) == pytest.approx(np.abs(phi).tolist())


# ---- outputs: analysis.json structure, report, failure ------------------------------------------------------

def test_analysis_json_has_the_structure_clarifys_readers_expect(stack_python, tmp_path, model_server):
    # [run] the documented analysis.json: {"explanations": {"kernel_shap": {"label0": {"global_shap_values":
    # {feature: value}, "expected_value": v}}}, "pre_training_bias_metrics": {...}, "post_training_bias_metrics":
    # {"label", "label_value_or_threshold", "facets": {name: [{"value_or_threshold", "metrics": [{"name",
    # "description", "value"}]}]}}}. The SDK itself reads analysis.json only as a JSON body
    # (sagemaker/core/model_monitor/clarify_model_monitoring.py ClarifyBaseliningJob.suggested_constraints).
    rows = [(1, 2, "F", 1), (0, 1, "M", 0), (2, 0, "M", 1), (1, 1, "F", 0), (3, 2, "M", 1), (0, 0, "F", 1)] * 8
    config = {"dataset_type": "text/csv", "label": "y", "label_values_or_threshold": [1],
              "facet": [{"name_or_index": "sex", "value_or_threshold": ["F"]}], "excluded_columns": ["sex"],
              "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"},
                          "shap": {"baseline": [[0, 0]]}},
              "predictor": {"endpoint_name": "logistic2"}}
    job = run_job(stack_python, tmp_path / "job", config, {"d.csv": csv_text(["a", "b", "sex", "y"], rows)},
                  env=model_server["env"])
    assert job.code == 0, job.log
    analysis = job.analysis
    assert set(analysis) == {"version", "pre_training_bias_metrics", "post_training_bias_metrics", "explanations"}
    for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        section = analysis[key]
        assert section["label"] == "y" and section["label_value_or_threshold"] == "1"
        (entry,) = section["facets"]["sex"]
        assert entry["value_or_threshold"] == "F"
        for metric in entry["metrics"]:
            assert set(metric) >= {"name", "description", "value"}
            assert isinstance(metric["description"], str) and metric["description"].endswith(f"({metric['name']})")
    label0 = analysis["explanations"]["kernel_shap"]["label0"]
    assert set(label0) == {"global_shap_values", "expected_value"}
    assert list(label0["global_shap_values"]) == ["a", "b"]
    assert all(isinstance(v, float) for v in label0["global_shap_values"].values())


def test_an_empty_facet_value_list_gives_one_result_per_facet_value_as_no_value_does(stack_python, tmp_path):
    # [dg]:70 "If you want to compute the bias metrics for each value, then value_or_threshold can be either omitted
    # or set to an empty array"; [sdk] ANALYSIS_CONFIG_SCHEMA_V1_0 facet value_or_threshold: [Or(int, float, str)]
    header, rows = random_people(120)
    results = []
    for name, facet in (("empty", {"name_or_index": "group", "value_or_threshold": []}), ("omitted", {"name_or_index": "group"})):
        config = {"dataset_type": "text/csv", "label": "target", "label_values_or_threshold": [1], "facet": [facet],
                  "methods": {"pre_training_bias": {"methods": ["CI", "DPL"]}}}
        job = run_job(stack_python, tmp_path / name, config, {"people.csv": csv_text(header, rows)})
        assert job.code == 0, job.log
        results.append(job.analysis["pre_training_bias_metrics"]["facets"]["group"])
    assert results[0] == results[1]
    assert sorted(entry["value_or_threshold"] for entry in results[0]) == ["east", "north", "south"]


def test_a_job_with_several_instances_is_refused_since_it_cannot_be_distributed(stack_python, tmp_path):
    # [dg-run]:80 "Clarify uses Spark distributed computing when there is more than once instance per Clarify
    # processor"; [dg-byoc]:132-138 /opt/ml/config/resourceconfig.json {"current_host", "hosts"}. This container
    # cannot distribute the analysis: it refuses rather than compute the whole job on every instance.
    config = {"dataset_type": "text/csv", "label": "label", "label_values_or_threshold": ["yes"],
              "facet": [{"name_or_index": "sex", "value_or_threshold": ["F"]}],
              "methods": {"pre_training_bias": {"methods": ["CI"]}}}
    files = {"people.csv": csv_text(["sex", "group", "label", "predicted"], HAND)}
    resources = tmp_path / "resourceconfig.json"
    jobs = {}
    for hosts in (["algo-1", "algo-2"], ["algo-1"]):
        resources.write_text(json.dumps({"current_host": "algo-1", "hosts": hosts}))
        jobs[len(hosts)] = run_job(stack_python, tmp_path / f"job{len(hosts)}", config, files,
                                   env={"CLARIFY_RESOURCE_CONFIG": str(resources)})
    assert jobs[1].code == 0, jobs[1].log
    assert jobs[2].code == 1 and jobs[2].message.startswith("ClientError: this job runs on 2 instances (algo-1, algo-2)")
    assert "set InstanceCount to 1" in jobs[2].message


def test_report_names_every_metric_and_embeds_figures(stack_python, tmp_path, model_server):
    # [cfg] "report – A report is generated if this section is present"; name = file name prefix
    import nbformat

    header, rows = random_people(120)
    config = {"dataset_type": "text/csv", "label": "target", "predicted_label": "predicted",
              "label_values_or_threshold": [1], "group_variable": "group", "excluded_columns": ["group", "sex"],
              "facet": [{"name_or_index": "sex", "value_or_threshold": ["F"]}],
              "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"},
                          "report": {"name": "fairness", "title": "Lab 05 report"}}}
    job = run_job(stack_python, tmp_path / "job", config, {"people.csv": csv_text(header, rows)})
    assert job.code == 0, job.log
    page = (job.root / "output" / "fairness.html").read_text()
    notebook = nbformat.read(job.root / "output" / "fairness.ipynb", as_version=4)
    nbformat.validate(notebook)
    text = "\n".join(cell.source for cell in notebook.cells)
    for name in ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL", "DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR",
                 "DRR", "AD", "CDDPL", "TE", "FT", "GE"]:
        assert f"<td>{name}</td>" in page and f"| {name} |" in text, name
    assert "Lab 05 report" in page and page.count("data:image/png;base64,") == 2
    assert not (job.root / "output" / "fairness.pdf").exists()  # a row of the README's differences table
    figures = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert len(figures) == 2 and all("image/png" in o["data"] for o in figures)


def test_a_failing_job_writes_the_reason_to_opt_ml_output_message_and_exits_non_zero(stack_python, tmp_path):
    # [msg] "/opt/ml/output/message ... the ExitMessage field in DescribeProcessingJob will contain the first
    # 1 KB of this file ... for failed processing jobs, you can use this field to communicate why"
    job = run_job(stack_python, tmp_path / "job", {**BASE, "methods": {"pdp": {"grid_resolution": 5}}},
                  {"a.csv": "30,0,1\n"})
    assert job.code == 1
    assert job.message.startswith("ClientError: analysis_config.json: unsupported field `methods.pdp`")
    assert "FAILED" in job.log and len(job.message.encode()) <= 1024


# ---- aws mode: the container's message reaches the learner ---------------------------------------------------

def test_a_failed_processing_job_shows_the_containers_exit_message_with_its_failure_reason(monkeypatch, tmp_path):
    # [dg-byoc]:147 "the ExitMessage field in DescribeProcessingJob contains the first 1 KB of this file
    # [/opt/ml/output/message] ... For failed processing jobs, you can use this field to communicate information
    # about why the processing container failed"; [dg-ts]:6 "The failure reason and exit message are intended to
    # contain descriptive messages". The FailureReason text below is illustrative: no document says what
    # SageMaker writes there for an image that exits 1.
    from botocore.stub import Stubber
    from test_builtin_helpers import _aws_lab

    lab = _aws_lab(monkeypatch, tmp_path)
    monkeypatch.setattr(lab, "upload", lambda path, prefix: f"s3://bucket/{prefix}")
    monkeypatch.setattr(lab, "_ensure_default_bucket", lambda: "bucket")
    message = "ClientError: d.csv: the first row (Age,Sex,Target) is a header row but differs from `headers`"
    description = {"ProcessingJobName": "p", "ProcessingJobArn": "arn:aws:sagemaker:eu-west-1:1:processing-job/p",
                   "ProcessingJobStatus": "Failed", "CreationTime": "2026-01-01",
                   "FailureReason": "AlgorithmError: See job logs for more information", "ExitMessage": message,
                   "AppSpecification": {"ImageUri": "image"},
                   "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                             "VolumeSizeInGB": 30}}}
    with Stubber(lab.sagemaker_client) as stub:
        stub.add_response("create_processing_job", {"ProcessingJobArn": description["ProcessingJobArn"]})
        stub.add_response("describe_processing_job", description)
        with pytest.raises(RuntimeError) as caught:
            lab.process("image", inputs={"dataset": (tmp_path, "/opt/ml/processing/input/data")},
                        outputs={"analysis_result": "/opt/ml/processing/output"})
        stub.assert_no_pending_responses()
    assert "failed: AlgorithmError: See job logs for more information" in str(caught.value)
    assert f"the container's message (ExitMessage): {message}" in str(caught.value)
    lab.cleanup.created = {k: [] for k in lab.cleanup.created}
