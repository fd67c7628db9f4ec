"""The parsing and hook-dispatch code of Lab 01's and Lab 02's containers, imported in-process: a broken
parser is caught in seconds, without Docker (the contract tests in test_*_container.py run the images).

Contracts: SageMaker passes hyperparameters as strings in hyperparameters.json
(https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html);
the PyTorch inference toolkit's hooks (https://github.com/aws/sagemaker-inference-toolkit,
src/sagemaker_inference/transformer.py: transform_fn alone or input_fn/predict_fn/output_fn, an optional
trailing context argument, str bodies for JSON and CSV).
"""
import json
import types

import numpy as np
import pytest

# ---- sklearn-byoc (Lab 01) ---------------------------------------------------------------------------


@pytest.fixture
def byoc_model(program_module):
    return program_module("sklearn-byoc", "model")


def test_hyperparameter_strings_become_typed_settings(byoc_model):
    settings = byoc_model.parse_hyperparameters({"max_leaf_nodes": "5", "criterion": '"entropy"'})
    assert settings == {"random_state": 0, "max_leaf_nodes": 5, "criterion": "entropy"}


@pytest.mark.parametrize("raw, words", [({"max_leaf_nodes": "1"}, "at least 2"), ({"max_leaf_nodes": "5.5"}, "integer"),
                                        ({"criterion": "purity"}, "one of gini"), ({"leaves": "3"}, "unknown")])
def test_a_bad_hyperparameter_is_refused_with_what_is_expected(byoc_model, raw, words):
    opt_ml = __import__("opt_ml")
    with pytest.raises(opt_ml.ContractError, match=words):
        byoc_model.parse_hyperparameters(raw)


def test_csv_rows_are_checked_for_width_and_numbers_with_their_position(byoc_model):
    opt_ml = __import__("opt_ml")
    assert byoc_model.parse_rows("1,2\n\n3,4\n") == [["1", "2"], ["3", "4"]]  # blank lines are not rows
    with pytest.raises(opt_ml.ContractError, match="row 2 has 1 values; expected 2"):
        byoc_model.parse_rows("1,2\n3\n")
    with pytest.raises(opt_ml.ContractError, match="row 1, column 2: 'x' is not a number"):
        byoc_model.to_numbers([["1", "x"]])


def test_training_and_prediction_round_trip_in_process(byoc_model, tmp_path):
    rows = "a,0,0\na,0,1\nb,5,5\nb,5,6\n"
    tree, info = byoc_model.train([("train.csv", rows)], {"max_leaf_nodes": "2"})
    assert info["classes"] == ["a", "b"] and info["n_features"] == 2 and info["n_leaves"] == 2
    byoc_model.save(tree, info, tmp_path)
    loaded, loaded_info = byoc_model.load(tmp_path)
    assert byoc_model.predict_csv(loaded, loaded_info, "0,0\n5,5\n") == "a\nb\n"


def test_opt_ml_root_moves_the_tree_for_tests(program_module, tmp_path, monkeypatch):
    """opt_ml.py reads OPT_ML_ROOT (default /opt/ml) at import: the same code runs on a host folder."""
    monkeypatch.setenv("OPT_ML_ROOT", str(tmp_path))
    (tmp_path / "input" / "config").mkdir(parents=True)
    (tmp_path / "input" / "config" / "hyperparameters.json").write_text(json.dumps({"max_depth": "3"}))
    opt_ml = program_module("sklearn-byoc", "opt_ml")
    assert opt_ml.read_hyperparameters() == {"max_depth": "3"}
    opt_ml.write_failure("bad input")
    assert (tmp_path / "output" / "failure").read_text().startswith("bad input")


# ---- pytorch-byom-inference (Lab 02): hook dispatch ---------------------------------------------------

@pytest.fixture
def hooks(program_module, tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    return program_module("pytorch-byom-inference", "handlers")


def _module(**functions):
    return types.SimpleNamespace(**functions)


def test_user_hooks_replace_only_the_defaults_they_define(hooks, tmp_path):
    seen = {}
    user = _module(model_fn=lambda model_dir: "MODEL",
                   predict_fn=lambda data, model: seen.setdefault("args", (data, model)) and [[1.0, 2.0]])
    handlers = hooks.Handlers(user, model_dir=tmp_path)
    assert handlers.sources == {"model_fn": "inference.py", "input_fn": "default", "predict_fn": "inference.py",
                                "output_fn": "default"}
    body, content_type = handlers.transform(b"[[0.5, 0.25]]", "application/json", "application/json")
    assert json.loads(body) == [[1.0, 2.0]] and content_type == "application/json"
    data, model = seen["args"]
    assert model == "MODEL" and np.allclose(data.numpy(), [[0.5, 0.25]])  # the default input_fn decoded JSON


def test_a_hook_may_take_the_context_as_one_more_argument(hooks, tmp_path):
    user = _module(model_fn=lambda model_dir, context: context.system_properties["model_dir"],
                   transform_fn=lambda model, body, content_type, accept: (f"{model}|{body}", "text/plain"))
    body, content_type = hooks.Handlers(user, model_dir=tmp_path).transform(b'"x"', "application/json", "text/plain")
    assert body == f'{tmp_path}|"x"'.encode() and content_type == "text/plain"  # JSON bodies arrive as str


def test_transform_fn_together_with_request_hooks_is_refused(hooks, tmp_path):
    user = _module(model_fn=lambda d: None, transform_fn=lambda m, b, c, a: b, input_fn=lambda b, c: b)
    with pytest.raises(ValueError, match="transform_fn together with"):
        hooks.Handlers(user, model_dir=tmp_path)


def test_a_missing_or_wildcard_accept_means_the_default_accept(hooks, tmp_path):
    """SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, default application/json (sagemaker_inference/environment.py)."""
    user = _module(model_fn=lambda d: None, transform_fn=lambda model, body, content_type, accept: accept)
    handlers = hooks.Handlers(user, model_dir=tmp_path)
    assert handlers.transform(b"x", "application/x-image", "*/*") == (b"application/json", "application/json")
    assert handlers.transform(b"x", "application/x-image", None)[0] == b"application/json"


def test_a_hook_with_the_wrong_number_of_arguments_says_what_the_contract_passes(hooks, tmp_path):
    def model_fn():  # the contract passes model_dir
        return None

    user = _module(model_fn=model_fn)
    with pytest.raises(TypeError, match="model_fn takes 0 arguments; the contract passes 1"):
        hooks.Handlers(user, model_dir=tmp_path)


def test_default_input_and_output_handlers_round_trip_csv_and_refuse_unknown_types(program_module, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    defaults = program_module("pytorch-byom-inference", "default_handlers")
    errors = __import__("errors")
    tensor = defaults.input_fn("1,2\n3,4\n", "text/csv")
    assert tensor.shape == (2, 2)
    assert defaults.output_fn(tensor, "text/csv") == ("1.0,2.0\n3.0,4.0\n", "text/csv")
    with pytest.raises(errors.UnsupportedMediaType):
        defaults.input_fn(b"x", "image/gif")
    with pytest.raises(errors.NotAcceptable):
        defaults.output_fn(tensor, "text/html")
    with pytest.raises(errors.BadRequest):
        defaults.input_fn("[[1, 2", "application/json")
