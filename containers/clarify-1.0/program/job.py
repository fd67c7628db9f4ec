"""The processing job: config and data in, analysis.json (+ local SHAP values, + report) out.

On failure: the reason goes to /opt/ml/output/message (the job's ExitMessage) and the exit code is 1;
a config or data problem is said in one paragraph, anything else with its traceback in the log.
"""
import json
import sys
import time
import traceback

import opt_ml
from errors import UserError

started = time.monotonic()


def say(message):
    print(f"[clarify {time.monotonic() - started:7.1f}s] {message}", flush=True)


def _clean(value):
    """NaN (a metric with an empty group) becomes null: JSON has no NaN."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def _write_json(path, data):
    path.write_text(json.dumps(_clean(data), indent=2, allow_nan=False, default=str) + "\n")


def check_one_instance():
    """Refuse a job with several instances: AWS's Clarify then distributes the analysis with Spark
    ("Clarify uses Spark distributed computing when there is more than one instance", developer guide,
    clarify-processing-job-run); this container cannot, and each instance would compute the whole analysis."""
    path = opt_ml.resource_config_file()
    if not path.exists():  # started by hand with docker run
        return
    try:
        hosts = json.loads(path.read_text()).get("hosts") or []
    except (json.JSONDecodeError, AttributeError):
        return
    if len(hosts) > 1:
        raise UserError(f"this job runs on {len(hosts)} instances ({', '.join(hosts[:5])}), but this Clarify-compatible "
                        "container does not distribute the analysis (AWS's Clarify does so with Spark): "
                        "set InstanceCount to 1 (instance_count=1)")


def run(environ=None, connect=None):
    import config as config_module
    import dataset as dataset_module

    check_one_instance()
    config = config_module.load(opt_ml.config_file())
    analyses = [m for m in ("pre_training_bias", "post_training_bias", "shap", "report") if m in config["methods"]]
    say(f"analysis config read: {', '.join(analyses)}")
    data = dataset_module.read(config, opt_ml.data_dir())
    say(f"dataset read: {len(data.frame)} rows, {len(data.frame.columns)} columns from {len(data.files)} file(s); "
        f"{len(data.features)} features go to the model")
    output = opt_ml.output_dir()
    output.mkdir(parents=True, exist_ok=True)
    analysis = {"version": "1.0"}

    if config["pre_training_metrics"]:
        import bias

        step = time.monotonic()
        analysis["pre_training_bias_metrics"] = bias.section(data, config, "pre_training", config["pre_training_metrics"])
        say(f"pre-training bias: {', '.join(config['pre_training_metrics'])} in {time.monotonic() - step:.1f} s")

    needs_model = "shap" in config or (config["post_training_metrics"] and not data.predicted_label)
    if needs_model:
        import predictor as predictor_module

        with (connect or predictor_module.connect)(config["predictor"], say=say, environ=environ) as endpoint:
            model = predictor_module.Model(endpoint, config["predictor"], say)
            _model_analyses(analysis, config, data, model)
            say(f"the model answered {model.requests} request(s)"
                + (f"; {model.fallbacks} batch(es) were asked again one row per request" if model.fallbacks else ""))
    else:
        _model_analyses(analysis, config, data, None)

    analysis = _clean(analysis)
    _write_json(output / "analysis.json", analysis)
    say(f"wrote {output / 'analysis.json'}")
    if "report" in config:
        import report

        html_path, notebook_path = report.write(analysis, output, **config["report"])
        say(f"wrote {html_path.name} and {notebook_path.name}")
    return analysis


def _model_analyses(analysis, config, data, model):
    if config["post_training_metrics"]:
        import bias

        step = time.monotonic()
        if data.predicted_label:
            predicted = data.frame[data.predicted_label]
            say(f"post-training bias: predicted labels from the dataset column {data.predicted_label!r}")
        else:
            from dataset import to_csv_lines

            say(f"post-training bias: asking the model for {len(data.frame)} predictions")

            def progress(done, total):  # once per request (at most 6 MB of rows)
                say(f"predictions: {done}/{total} rows")

            output = model.predict_lines(to_csv_lines(data.frame[data.features]), progress)
            predicted = bias.predicted_labels(output, data.frame[data.label], config["label_values_or_threshold"],
                                              config["probability_threshold"],
                                              config["predictor"].get("label_headers"))
        analysis["post_training_bias_metrics"] = bias.section(data, config, "post_training",
                                                              config["post_training_metrics"], predicted)
        say(f"post-training bias: {', '.join(config['post_training_metrics'])} in {time.monotonic() - step:.1f} s")
    if "shap" in config:
        import explain

        step = time.monotonic()
        analysis["explanations"], local = explain.explain(data, config, model, say)
        say(f"SHAP done in {time.monotonic() - step:.1f} s")
        if config["shap"]["save_local_shap_values"]:
            folder = opt_ml.output_dir() / "explanations_shap"
            folder.mkdir(parents=True, exist_ok=True)
            local.to_csv(folder / "out.csv", index=False)
            say(f"wrote {folder / 'out.csv'} ({len(local)} rows)")


def fail(message):
    path = opt_ml.message_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # ExitMessage: "the first 1 KB of this file"; it must be UTF-8.
        path.write_text(message[:1024].encode("utf-8", "ignore")[:1024].decode("utf-8", "ignore"))
    except OSError as err:
        say(f"could not write {path}: {err}")


def main():
    say("SageMaker Clarify-compatible processing job (the workshop's open container, not AWS's image)")
    try:
        run()
    except UserError as err:
        say(f"FAILED: {err}")
        fail(f"ClientError: {err}")
        return 1
    except Exception as err:  # our bug or an unforeseen input: keep the traceback in the log
        traceback.print_exc()
        say(f"FAILED: {type(err).__name__}: {err}")
        fail(f"AlgorithmError: {type(err).__name__}: {err}")
        return 1
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
