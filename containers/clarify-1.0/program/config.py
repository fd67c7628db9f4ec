"""analysis_config.json: read it, check it against the schema of the supported subset, then check the
rules between fields. Every problem is a UserError naming the field.

The field names, types and rules come from the SageMaker Python SDK (ANALYSIS_CONFIG_SCHEMA_V1_0 and the
config classes in sagemaker/core/clarify/__init__.py) and from
https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-configure-analysis.html.
Configs that the SDK's DataConfig, BiasConfig, ModelConfig, ModelPredictedLabelConfig and SHAPConfig write
for a tabular job are accepted as they are.
"""
import json
from pathlib import Path

import jsonschema

from errors import UserError

SCHEMA_FILE = Path(__file__).with_name("analysis_config.schema.json")

# smclarify 0.5's registry (smclarify.bias.metrics.PRETRAINING_METRICS / POSTTRAINING_METRICS), in its order.
PRE_TRAINING_METRICS = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
POST_TRAINING_METRICS = ("DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT", "GE")
NEEDS_GROUP_VARIABLE = {"CDDL", "CDDPL"}

# Fields the SDK or the docs know but this container does not implement: a sentence each, so the
# error says what to do instead of only "not allowed".
NOT_IMPLEMENTED = {
    "dataset_uri": "mount the data as the processing input `dataset` (/opt/ml/processing/input/data)",
    "segment_config": "segmented analysis is not implemented",
    "facet_dataset_uri": "put the facet columns in the dataset",
    "facet_headers": "put the facet columns in the dataset",
    "predicted_label_dataset_uri": "put the predicted labels in the dataset and name the column in `predicted_label`",
    "predicted_label_headers": "put the predicted labels in the dataset and name the column in `predicted_label`",
    "joinsource_name_or_index": "rows are kept in dataset order; drop the identifier column or list it in `excluded_columns`",
    "time_series_data_config": "time series are not implemented",
    "methods.pdp": "partial dependence plots are not implemented",
    "methods.asymmetric_shapley_value": "time series explanations are not implemented",
    "methods.shap.text_config": "only tabular data is supported",
    "methods.shap.image_config": "only tabular data is supported",
    "methods.shap.features_to_explain": "every feature is explained",
    "predictor.accelerator_type": "Elastic Inference is not supported",
    "predictor.record_template": "content_type application/json is not implemented; use text/csv or application/jsonlines",
    "predictor.time_series_predictor_config": "time series are not implemented",
}


def load(path):
    """The parsed and checked config of PATH, with defaults filled in (see normalise)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"no analysis config: {path} does not exist (the processing input `analysis_config` "
                        "must hold a file named analysis_config.json)")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"analysis_config.json is not valid JSON: {err}") from None
    return validate(config)


def _field(path):
    return ".".join(str(part) for part in path)


def _schema_errors(config):
    schema = json.loads(SCHEMA_FILE.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        where = _field(error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = set(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - allowed):
                field = f"{where}.{name}" if where else name
                generic = _field(part for part in error.absolute_path if not isinstance(part, int))
                key = f"{generic}.{name}" if generic else name
                reason = NOT_IMPLEMENTED.get(key)
                messages.append(f"unsupported field `{field}`" + (f": {reason}" if reason else
                                f" (supported here: {', '.join(sorted(allowed))})"))
        elif where == "methods.shap.baseline" and error.validator == "type":
            messages.append("`methods.shap.baseline` must be a list of rows here; a baseline file (S3 URI) is not "
                            "supported: put the rows in the config")
        elif error.validator == "maxLength":
            messages.append(f"`{where}` {error.instance!r} has {len(error.instance)} characters; at most "
                            f"{error.validator_value} are allowed")
        elif error.validator == "enum":
            messages.append(f"`{where}` is {error.instance!r}; supported: {', '.join(map(str, error.validator_value))}")
        else:
            messages.append(f"`{where or 'analysis_config'}`: {error.message}")
    return messages


def _metric_list(config, section, known):
    methods = config["methods"][section]["methods"]
    if isinstance(methods, str):
        if methods.lower() == "all":
            return list(known)
        methods = [methods]
    unknown = [name for name in methods if name not in known]
    if unknown:
        raise UserError(f"`methods.{section}.methods`: unknown metric(s) {', '.join(unknown)}; "
                        f"known: {', '.join(known)} or \"all\"")
    if not methods:
        raise UserError(f"`methods.{section}.methods` is empty: name metrics or give \"all\"")
    return [name for name in known if name in methods]


def validate(config):
    """Check CONFIG (a dict) and return it normalised; raise UserError listing every problem found."""
    if not isinstance(config, dict):
        raise UserError("analysis_config.json must hold a JSON object")
    messages = _schema_errors(config)
    if messages:
        raise UserError("analysis_config.json: " + "; ".join(messages))
    methods = config["methods"]
    analyses = [name for name in ("pre_training_bias", "post_training_bias", "shap") if name in methods]
    if not analyses:
        raise UserError("analysis_config.json: `methods` names no analysis: give pre_training_bias, "
                        "post_training_bias or shap")
    bias = [name for name in ("pre_training_bias", "post_training_bias") if name in methods]
    if bias:
        for field in ("label", "facet", "label_values_or_threshold"):
            if field not in config:
                raise UserError(f"analysis_config.json: `{field}` is required for {' and '.join(bias)}")
    else:
        for field in ("facet", "group_variable", "label_values_or_threshold"):
            if field in config:
                raise UserError(f"analysis_config.json: `{field}` is only used by bias methods, and none is asked for")
    if config["dataset_type"] == "application/jsonlines" and "features" not in config:
        raise UserError("analysis_config.json: `features` (a JMESPath to the feature list) is required for "
                        "dataset_type application/jsonlines")
    if config["dataset_type"] == "text/csv" and "features" in config:
        raise UserError("analysis_config.json: `features` is for application/jsonlines datasets; "
                        "for text/csv every column that is not the label or excluded is a feature")

    normal = dict(config)
    normal["probability_threshold"] = float(config.get("probability_threshold", 0.5))
    normal["pre_training_metrics"] = (_metric_list(config, "pre_training_bias", PRE_TRAINING_METRICS)
                                      if "pre_training_bias" in methods else [])
    normal["post_training_metrics"] = (_metric_list(config, "post_training_bias", POST_TRAINING_METRICS)
                                       if "post_training_bias" in methods else [])
    explicit = [m for s in ("pre_training_bias", "post_training_bias") if s in methods
                and isinstance(methods[s]["methods"], list) for m in methods[s]["methods"]]
    if "group_variable" not in config and NEEDS_GROUP_VARIABLE.intersection(explicit):
        raise UserError("analysis_config.json: "
                        f"{' and '.join(sorted(NEEDS_GROUP_VARIABLE.intersection(explicit)))} need `group_variable`")

    predictor = config.get("predictor")
    needs_model = "shap" in methods or ("post_training_bias" in methods and "predicted_label" not in config)
    if needs_model and predictor is None:
        why = "shap" if "shap" in methods else "post_training_bias without a `predicted_label` column"
        raise UserError(f"analysis_config.json: `predictor` is required for {why}")
    if predictor is not None:
        normal["predictor"] = _predictor(predictor, config)

    if "shap" in methods:
        shap = dict(methods["shap"])
        if "baseline" in shap and "num_clusters" in shap:
            raise UserError("analysis_config.json: `methods.shap.baseline` and `methods.shap.num_clusters` "
                            "cannot be given together (the clusters make a baseline)")
        shap.setdefault("agg_method", "mean_abs")
        shap.setdefault("use_logit", False)
        shap.setdefault("save_local_shap_values", False)
        normal["shap"] = shap
    report = methods.get("report")
    if report is not None:
        normal["report"] = {"name": report.get("name", "report"), "title": report.get("title", "SageMaker Analysis Report")}
    return normal


def _predictor(predictor, config):
    endpoint = "endpoint_name" in predictor
    model = [key for key in ("model_name", "instance_type", "initial_instance_count") if key in predictor]
    # SDK ModelConfig: assert any(rule) and not all(rule), rule = (all of the model group, endpoint_name)
    if endpoint and model:
        raise UserError("analysis_config.json: `predictor` has both `endpoint_name` and "
                        f"{', '.join(f'`{k}`' for k in model)}: give an endpoint or a model, not both")
    if not endpoint and len(model) != 3:
        missing = [k for k in ("model_name", "instance_type", "initial_instance_count") if k not in predictor]
        raise UserError("analysis_config.json: `predictor` needs `endpoint_name`, or `model_name`, `instance_type` "
                        f"and `initial_instance_count` (missing: {', '.join(missing)})")
    if endpoint and "endpoint_name_prefix" in predictor:
        raise UserError("analysis_config.json: `predictor.endpoint_name_prefix` names the temporary endpoint made "
                        "from `model_name`; it cannot go with `endpoint_name`")
    normal = dict(predictor)
    normal.setdefault("content_type", config["dataset_type"])  # docs: default = dataset_type
    if normal["content_type"] not in ("text/csv", "application/jsonlines"):
        raise UserError(f"`predictor.content_type` is {normal['content_type']!r}; supported: text/csv, application/jsonlines")
    normal.setdefault("accept_type", normal["content_type"])  # docs: default = content_type
    if normal["content_type"] == "application/jsonlines":
        # developer guide: content_template is "Required if the value of the content_type parameter is
        # application/jsonlines" (content_type itself defaults to dataset_type)
        template = normal.get("content_template")
        if template is None:
            raise UserError("`predictor.content_template` is required for content_type application/jsonlines: a "
                            'template with one $features placeholder, e.g. "{\\"features\\":$features}"')
        if "$features" not in template:
            raise UserError(f"`predictor.content_template` {template!r} has no $features placeholder")
    elif "content_template" in normal:
        raise UserError("`predictor.content_template` is only used with content_type application/jsonlines")
    for key in ("label", "probability"):
        value = normal.get(key)
        if normal["accept_type"] == "text/csv" and isinstance(value, str):
            raise UserError(f"`predictor.{key}` must be a column index for accept_type text/csv, not {value!r}")
        if normal["accept_type"] != "text/csv" and isinstance(value, int):
            raise UserError(f"`predictor.{key}` must be a JMESPath for accept_type {normal['accept_type']}, not {value}")
    if normal["accept_type"] == "application/json" and "label" not in normal and "probability" not in normal:
        raise UserError("accept_type application/json needs `predictor.label` or `predictor.probability`: a JMESPath "
                        "from the response document to one value per row (e.g. \"predictions[*].score\")")
    return normal
