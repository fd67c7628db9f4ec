"""Unit tests of the XGBoost 1.7-1 twin's algorithm code (containers/xgboost-1.7-1/program/
sagemaker_xgboost_container/algorithm_mode), in-process, no Docker. How a job starts and ends (SM_*
variables, failure file, exit code) is sagemaker-containers' code inside the image: the container tests
pin that down.

Each test states a rule of AWS's built-in XGBoost algorithm and cites where it comes from:
- [hpv]  github.com/aws/sagemaker-xgboost-container @1.7-1 src/sagemaker_algorithm_toolkit/hyperparameter_validation.py
- [xhpv] same repository, src/sagemaker_xgboost_container/algorithm_mode/hyperparameter_validation.py
- [chv]  same repository, src/sagemaker_algorithm_toolkit/channel_validation.py and algorithm_mode/channel_validation.py
- [du]   same repository, src/sagemaker_xgboost_container/data_utils.py
- [tr]   same repository, src/sagemaker_xgboost_container/algorithm_mode/train.py and train_utils.py
- [cm]   same repository, src/sagemaker_xgboost_container/metrics/custom_metrics.py
- [su]   same repository, src/sagemaker_xgboost_container/algorithm_mode/serve_utils.py, serve.py, encoder.py
- [sc]   github.com/aws/sagemaker-containers @v2.8.6.post2 src/sagemaker_containers/_trainer.py,
         _encoders.py, _recordio.py, record_pb2.py
- [cb]   xgboost 1.7 python-package/xgboost/callback.py (EvaluationMonitor, EarlyStopping)
Expected values come from those sources (or from XGBoost, scikit-learn and protobuf themselves, which
the host has in the same versions), never from the twin's own helpers.
"""
import json
import math
import re
import struct

import numpy as np
import pytest

CONTAINER = "xgboost-1.7-1"


@pytest.fixture
def twin(program_module):
    """twin('hyperparameters') imports that module of the twin's algorithm_mode package."""
    return lambda module: program_module(CONTAINER, f"sagemaker_xgboost_container.algorithm_mode.{module}")


@pytest.fixture
def validate(twin):
    return twin("hyperparameters").validate


def user_error(twin, call, *args):
    errors = twin("errors")
    with pytest.raises(errors.UserError) as caught:
        call(*args)
    return str(caught.value)


# ---- hyperparameters: the steps of Hyperparameters.validate [hpv] -------------------------------------

def test_num_round_is_required_and_checked_before_unknown_names(twin, validate):
    """[hpv] step 1 'Missing required hyperparameter' runs before step 2's extraneous-name check."""
    assert user_error(twin, validate, {"foo": "1"}) == "Missing required hyperparameter: num_round"


def test_unknown_hyperparameter_is_refused_by_name(twin, validate):
    """[hpv] raise exc.UserError("Extraneous hyperparameter found: {}".format(hp))."""
    assert user_error(twin, validate, {"num_round": "5", "max_depht": "3"}) == \
        "Extraneous hyperparameter found: max_depht"


def test_aliases_become_the_canonical_names(validate):
    """[xhpv] declare_alias: learning_rate->eta, min_split_loss->gamma, reg_lambda->lambda, reg_alpha->alpha."""
    got = validate({"num_round": "3", "learning_rate": "0.3", "min_split_loss": "1", "reg_lambda": "2",
                    "reg_alpha": "0.5"})
    assert got == {"num_round": 3, "eta": 0.3, "gamma": 1.0, "lambda": 2.0, "alpha": 0.5}


def test_values_are_parsed_to_their_types(validate):
    """[hpv] Integer -> int(value), Continuous -> float(value), comma lists -> value.split(","),
    tuples and nested lists -> Python literals; categorical values stay strings."""
    got = validate({"num_round": "10", "eta": "0.1", "objective": "binary:logistic", "eval_metric": "auc,logloss",
                    "tree_method": "hist", "monotone_constraints": "(1,-1,0)",
                    "interaction_constraints": "[[1, 2], [3]]"})
    assert got == {"num_round": 10, "eta": 0.1, "objective": "binary:logistic", "eval_metric": ["auc", "logloss"],
                   "tree_method": "hist", "monotone_constraints": (1, -1, 0), "interaction_constraints": [[1, 2], [3]]}


@pytest.mark.parametrize("name, value", [("num_round", "10.0"), ("num_round", "ten"), ("max_depth", "6.5"),
                                         ("eta", "fast"), ("subsample", "")])
def test_unparsable_value_names_the_hyperparameter(twin, validate, name, value):
    """[hpv] validate() step 2: `except ValueError as e: raise exc.UserError("Hyperparameter {}: could not parse
    value".format(hp), caused_by=e)`, and BaseToolkitError._format_exception_message
    (sagemaker_algorithm_toolkit/exceptions.py:48-71) appends " (caused by ValueError)" (int("10.0") fails)."""
    given = {"num_round": "5", name: value}
    assert user_error(twin, validate, given) == f"Hyperparameter {name}: could not parse value (caused by ValueError)"


@pytest.mark.parametrize("name, value, message", [
    # Interval.__str__ prints the bounds as declared in [xhpv]: [ or ( for closed/open, +inf when unbounded
    ("num_round", "0", "Hyperparameter num_round: 0 is not in [1, +inf)"),
    ("eta", "1.5", "Hyperparameter eta: 1.5 is not in [0, 1]"),
    ("eta", "-0.1", "Hyperparameter eta: -0.1 is not in [0, 1]"),
    ("subsample", "0", "Hyperparameter subsample: 0.0 is not in (0, 1]"),
    ("colsample_bytree", "1.01", "Hyperparameter colsample_bytree: 1.01 is not in (0, 1]"),
    ("max_depth", "-1", "Hyperparameter max_depth: -1 is not in [0, +inf)"),
    ("verbosity", "4", "Hyperparameter verbosity: 4 is not in [0, 3]"),
    ("sketch_eps", "1", "Hyperparameter sketch_eps: 1.0 is not in (0, 1)"),
    ("scale_pos_weight", "0", "Hyperparameter scale_pos_weight: 0.0 is not in (0, +inf)"),
    ("tweedie_variance_power", "2", "Hyperparameter tweedie_variance_power: 2.0 is not in (1, 2)"),
    ("num_class", "1", "Hyperparameter num_class: 1 is not in [2, +inf)"),
    ("csv_weights", "2", "Hyperparameter csv_weights: 2 is not in [0, 1]"),
    ("seed", str(2 ** 31 - 1), "Hyperparameter seed: 2147483647 is not in (-2147483648, 2147483647)"),
    ("prob_buffer_row", "1", "Hyperparameter prob_buffer_row: 1 is not in (1.0, +inf)"),
    ("booster", "gbforest", "Hyperparameter booster: gbforest is not in ['gbtree', 'gblinear', 'dart']"),
    ("tree_method", "fast",
     "Hyperparameter tree_method: fast is not in ['auto', 'exact', 'approx', 'hist', 'gpu_hist']"),
    ("save_model_on_termination", "True", "Hyperparameter save_model_on_termination: True is not in ['true', 'false']"),
    ("objective", "reg:linearr", "Hyperparameter objective: reg:linearr is not in ['aft_loss_distribution', "
                                 "'binary:logistic', 'binary:logitraw', 'binary:hinge', 'count:poisson', "
                                 "'multi:softmax', 'multi:softprob', 'rank:pairwise', 'rank:ndcg', 'rank:map', "
                                 "'reg:linear', 'reg:squarederror', 'reg:logistic', 'reg:gamma', "
                                 "'reg:pseudohubererror', 'reg:squaredlogerror', 'reg:absoluteerror', "
                                 "'reg:tweedie', 'survival:aft', 'survival:cox']"),
])
def test_out_of_range_message_prints_the_range_like_the_real_toolkit(twin, validate, name, value, message):
    """[hpv] "Hyperparameter {}: {} is not in {}".format(self.name, value, self.range); ranges from [xhpv]."""
    assert user_error(twin, validate, {"num_round": "5", name: value}) == message


def test_range_bounds_are_inclusive_where_the_real_intervals_are_closed(validate):
    """[xhpv] eta Interval(min_closed=0, max_closed=1), subsample (0, 1], max_depth [0, +inf)."""
    got = validate({"num_round": "1", "eta": "0", "subsample": "1", "max_depth": "0", "colsample_bynode": "1"})
    assert got["eta"] == 0.0 and got["subsample"] == 1.0 and got["max_depth"] == 0


def test_list_valued_range_message(twin, validate):
    """[hpv] CommaSeparatedListHyperparameter: "Hyperparameter {}: value {} not in range {}"."""
    message = user_error(twin, validate, {"num_round": "5", "objective": "binary:logistic",
                                          "eval_metric": "auc,accuracyy"})
    assert message.startswith("Hyperparameter eval_metric: value ['auc', 'accuracyy'] not in range ['accuracy', ")
    message = user_error(twin, validate, {"num_round": "5", "tree_method": "hist", "monotone_constraints": "(1,2)"})
    assert message == "Hyperparameter monotone_constraints: value (1, 2) not in range [-1, 0, 1]"


def test_interaction_constraints_take_feature_indices_from_one(twin, validate):
    """[xhpv] NestedListHyperparameter(range=Interval(min_closed=1)): index 0 is out of range."""
    message = user_error(twin, validate, {"num_round": "5", "tree_method": "hist",
                                          "interaction_constraints": "[[0, 1]]"})
    assert message == "Hyperparameter interaction_constraints: value [[0, 1]] not in range [1, +inf)"


@pytest.mark.parametrize("metric", ["error@0.3", "ndcg@5", "map@2", "auc", "aucpr", "logloss"])
def test_eval_metric_accepts_known_metrics_and_thresholds(validate, metric):
    """[xhpv] eval_metric_range_validator: XGB_MAXIMIZE_METRICS + XGB_MINIMIZE_METRICS, or error|ndcg|map@t."""
    got = validate({"num_round": "5", "objective": "binary:logistic", "eval_metric": metric})
    assert got["eval_metric"] == [metric]


@pytest.mark.parametrize("metric, message", [
    ("rmse@0.5", "Metric 'rmse@0.5' is not supported. Parameter 'eval_metric' with customized threshold should be "
                 "one of these options: 'error', 'ndcg', 'map'."),
    ("error@high", "Threshold value 't' in 'error@t' expects float input."),
])
def test_eval_metric_threshold_rules(twin, validate, metric, message):
    """[xhpv] eval_metric_range_validator, the '@' branch."""
    assert user_error(twin, validate, {"num_round": "5", "objective": "binary:logistic",
                                       "eval_metric": metric}) == message


@pytest.mark.parametrize("given, message", [
    ({"objective": "multi:softprob"}, "Require input for parameter 'num_class' for multi-classification"),
    ({"objective": "multi:softmax"}, "Require input for parameter 'num_class' for multi-classification"),
    ({"objective": "reg:squarederror", "eval_metric": "auc"},
     "Metric 'auc' can only be applied for classification and ranking problems."),
    ({"objective": "reg:squarederror", "eval_metric": "aft-nloglik"},
     "Metric 'aft-nloglik' can only be applied for 'survival:aft' objective."),
    ({"monotone_constraints": "(1,0)"},
     "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' or 'hist'."),
    ({"tree_method": "approx", "monotone_constraints": "(1,0)"},
     "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' or 'hist'."),
    ({"tree_method": "auto", "interaction_constraints": "[[1, 2]]"},
     "interaction_constraints can be used only when the tree_method parameter is set to either 'exact', 'hist' "
     "or 'approx'."),
    ({"booster": "gblinear", "updater": "shotgun,coord_descent"},
     # ", ".join("'{0}'".format(<a generator>)): the characters of the generator's text, comma-joined
     "Linear updater should be one of these options: ', <, g, e, n, e, r, a, t, o, r,  , o, b, j, e, c, t, "),
    ({"process_type": "update", "updater": "refresh,grow_colmaker"},
     "process_type 'update' can only be used with updater 'refresh' and 'prune'"),
    ({"updater": "grow_colmaker,grow_histmaker"},
     "Only one tree grow plugin can be selected. Choose one from thefollowing: 'grow_colmaker', 'distcol', "
     "'grow_histmaker', 'grow_skmaker'"),
])
def test_rules_between_hyperparameters(twin, validate, given, message):
    """[xhpv] objective_validator, eval_metric_dep_validator, monotone_constraints_validator,
    interaction_constraints_validator, updater_validator (@1.7-1 algorithm_mode/hyperparameter_validation.py
    lines 26-75), with their slips: the linear-updater message formats a generator object and joins its
    characters, and "Choose one from the" "following" lacks a space."""
    assert user_error(twin, validate, {"num_round": "5", **given}).startswith(message)


def test_rules_pass_when_satisfied(validate):
    """[xhpv] the same validators accept a consistent configuration."""
    got = validate({"num_round": "5", "objective": "multi:softprob", "num_class": "3", "tree_method": "hist",
                    "monotone_constraints": "(1,0)", "booster": "gblinear", "updater": "coord_descent",
                    "eval_metric": "mlogloss,merror"})
    assert got["num_class"] == 3 and got["updater"] == ["coord_descent"]


def test_num_class_without_objective_passes_validation_like_the_real_toolkit(validate):
    """[hpv] a dependency validator runs only for a hyperparameter the caller gave, so objective_validator's
    'num_class without objective' branch can never fire: the job goes on to XGBoost."""
    assert validate({"num_round": "5", "num_class": "3"}) == {"num_round": 5, "num_class": 3}


def test_eval_metric_without_objective_stops_with_key_error_objective_like_the_real_image(validate):
    """[xhpv] eval_metric_dep_validator reads dependencies["objective"], which holds only given
    hyperparameters ([hpv] step 4): the real job stops with KeyError: 'objective'."""
    with pytest.raises(KeyError) as caught:
        validate({"num_round": "5", "eval_metric": "rmse"})
    assert caught.value.args == ("objective",)


def test_rules_run_in_the_real_toolkits_dependency_order(twin, validate):
    """[hpv] Hyperparameters._sort_dependencies (hyperparameter_validation.py:227-243) + validate() step 4
    (sorted_deps.pop()): eval_metric depends on objective, so objective's rule runs first, whatever the order
    given. The real toolkit answers this case with the num_class message, not the auc one."""
    given = {"num_round": "10", "eval_metric": "auc", "objective": "multi:softmax"}
    assert user_error(twin, validate, given) == "Require input for parameter 'num_class' for multi-classification"
    assert twin("hyperparameters").dependency_order(["num_round", "eval_metric", "objective"]) == \
        ["num_round", "objective", "eval_metric"]


@pytest.mark.parametrize("name, value, cause", [("monotone_constraints", "1", "TypeError"),
                                                ("interaction_constraints", "[1, 2]", "TypeError")])
def test_constraints_that_are_not_sequences_are_an_algorithm_error(twin, validate, name, value, cause):
    """[hpv] validate() step 3: a range check failing with anything but a UserError becomes
    AlgorithmError("Hyperparameter {}: unexpected failure when validating {}", caused_by=e): iterating the
    int 1 (TupleHyperparameter) or [1, 2]'s ints (NestedListHyperparameter) raises TypeError."""
    errors = twin("errors")
    with pytest.raises(errors.AlgorithmError) as caught:
        validate({"num_round": "5", "tree_method": "hist", name: value})
    parsed = 1 if value == "1" else [1, 2]
    assert str(caught.value) == f"Hyperparameter {name}: unexpected failure when validating {parsed} (caused by {cause})"


def test_malformed_nested_list_is_pythons_syntax_error_like_the_real_literal_eval(validate):
    """[hpv] NestedListHyperparameter.parse is ast.literal_eval, and validate() catches only ValueError:
    "[[1, 2]" stops the job with SyntaxError itself."""
    with pytest.raises(SyntaxError):
        validate({"num_round": "5", "tree_method": "hist", "interaction_constraints": "[[1, 2]"})


def test_tuning_objective_metric_must_be_a_validation_metric(twin, validate):
    """[xhpv] _tuning_objective_metric range = metrics.names = 'validation:<metric>' (algorithm_mode/metrics.py)."""
    assert validate({"num_round": "5", "_tuning_objective_metric": "validation:auc"})["_tuning_objective_metric"] \
        == "validation:auc"
    assert user_error(twin, validate, {"num_round": "5", "_tuning_objective_metric": "train:auc"}).startswith(
        "Hyperparameter _tuning_objective_metric: train:auc is not in ['validation:accuracy', 'validation:auc', ")


# ---- content types and channels [du] [chv] ------------------------------------------------------------

@pytest.mark.parametrize("value, kind", [
    (None, "libsvm"), ("csv", "csv"), ("text/csv", "csv"), ("TEXT/CSV", "csv"), ("text/csv; label_size=1", "csv"),
    ("text/csv;label_size = 1", "csv"), ("text/csv; charset=utf-8", "csv"),
    ("text/csv; label_size=1; charset=utf-8", "csv"), ("libsvm", "libsvm"), ("text/libsvm", "libsvm"),
    ("text/x-libsvm", "libsvm"), ("parquet", "parquet"), ("application/x-parquet", "parquet"),
    ("recordio-protobuf", "recordio-protobuf"), ("application/x-recordio-protobuf", "recordio-protobuf"),
])
def test_content_type_names(twin, value, kind):
    """[du] get_content_type; the cases of test/unit/test_data_utils.py in the real repository."""
    assert twin("content_types").get_content_type(value) == kind


@pytest.mark.parametrize("value", ["text/csv; label_size=5", "text/csv; label_size=1=1",
                                   "text/csv; label_size=1; label_size=2"])
def test_csv_label_size_must_be_one(twin, value):
    """[du] "{} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"."""
    message = user_error(twin, twin("content_types").get_content_type, value)
    assert message == f"{value} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"


@pytest.mark.parametrize("value", ["application/json", "incorrect_format", "label_size=1; text/csv"])
def test_unknown_content_type_lists_the_accepted_ones(twin, value):
    """[du] INVALID_CONTENT_TYPE_ERROR, listing VALID_CONTENT_TYPES in their order."""
    assert user_error(twin, twin("content_types").get_content_type, value) == (
        f"{value} is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, "
        "text/x-libsvm, application/x-parquet, application/x-recordio-protobuf.")


def test_train_channel_is_required(twin):
    """[chv] Channel(name="train", required=True) -> "Missing required channel: train". In a job this check
    is never reached: training.py reads os.environ["SM_CHANNEL_TRAIN"] first (the container tests)."""
    assert user_error(twin, twin("channels").validate, {"validation": {"ContentType": "text/csv"}}) == \
        "Missing required channel: train"


def test_channels_other_than_train_validation_code_are_refused(twin):
    """[chv] "Extraneous channel found: {}"."""
    assert user_error(twin, twin("channels").validate, {"train": {"ContentType": "text/csv"}, "test": {}}) == \
        "Extraneous channel found: test"


def test_channel_without_content_type_is_libsvm(twin):
    """[chv] data_channels.set_default_content_type("text/libsvm")."""
    got = twin("channels").validate({"train": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}})
    assert got["train"]["ContentType"] == "text/libsvm"


def test_channel_without_s3_distribution_type_is_taken_as_fully_replicated(twin):
    """SDK local mode writes only TrainingInputMode and ContentType (sagemaker/core/local/image.py); the real
    image then fails with KeyError: 'S3DistributionType' (aws/sagemaker-xgboost-container#155). The twin's
    documented difference: the missing key means FullyReplicated."""
    got = twin("channels").validate({"train": {"TrainingInputMode": "File", "ContentType": "text/csv"}})
    assert got["train"]["S3DistributionType"] == "FullyReplicated"


@pytest.mark.parametrize("config", [
    {"ContentType": "text/csv;label_size=1"},  # exact triples: parameters are not stripped in a channel
    {"ContentType": "application/json"},
    {"ContentType": "text/libsvm", "TrainingInputMode": "Pipe"},  # VALID_PIPED_CONTENT_TYPES has no libsvm
])
def test_channel_configuration_must_be_a_supported_triple(twin, config):
    """[chv] Channel.validate: (ContentType, TrainingInputMode, S3DistributionType) not in supported ->
    "Channel configuration for 'train' channel is not supported: {...}"."""
    message = user_error(twin, twin("channels").validate, {"train": dict(config)})
    assert message.startswith("Channel configuration for 'train' channel is not supported: {")
    assert repr(config["ContentType"]) in message


# ---- training data [du] ---------------------------------------------------------------------------------

def test_hidden_file_anywhere_in_a_channel_stops_training(twin, tmp_path):
    """[du] get_size: "Hidden file found in the data path! Remove that before training."."""
    (tmp_path / "train" / "sub").mkdir(parents=True)
    (tmp_path / "train" / "a.csv").write_text("1,2\n")
    (tmp_path / "train" / "sub" / ".DS_Store").write_text("x")
    message = user_error(twin, twin("data").size, tmp_path / "train")
    assert message.startswith("Hidden file found in the data path! Remove that before training.")


def test_files_are_gathered_from_two_levels_of_subfolders(twin, tmp_path):
    """[du] _make_symlinks_from_a_folder: depth 1 (the channel) to MAX_FOLDER_DEPTH = 3; deeper is left out;
    "_"-prefixed files are gathered too (only the first-line check skips them)."""
    channel = tmp_path / "train"
    for relative in ("a.csv", "_b.csv", "x/c.csv", "x/y/d.csv", "x/y/z/e.csv"):
        (channel / relative).parent.mkdir(parents=True, exist_ok=True)
        (channel / relative).write_text("1,2\n")
    names = sorted(path.name for path in twin("data").files(channel))
    assert names == ["_b.csv", "a.csv", "c.csv", "d.csv"]


@pytest.mark.parametrize("line, features", [
    ("1 0:1.5 3:2\n", 2), ("1:0.5 2:1 4:1\n", 2), ("0\n", 0), ("1 2:3\n", 1),
    ("a 1:2\n", -1), ("1 2 3\n", -1), ("1 1:2 \n", -1), ("\n", -1), ("1:2:3 1:1\n", -1), ("1 1:2:3 2:1\n", -1),
])
def test_libsvm_line_check(twin, line, features):
    """[du] _get_num_valid_libsvm_features: label[:weight] then index:value tokens split on single spaces
    (so a trailing space or an empty line is not LIBSVM)."""
    assert twin("data").libsvm_features(line) == features


def test_libsvm_file_whose_first_lines_are_not_libsvm_is_refused(twin, tmp_path):
    """[du] _validate_libsvm_format: "First line '{}...' of file '{}' is not 'LIBSVM' format. ..."."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "data.csv").write_text("1,2,3\n0,1,1\n")
    message = user_error(twin, twin("data").validate_first_lines, tmp_path / "t", "libsvm")
    assert message == ("First line '1,2,3\n...' of file 'data.csv' is not 'LIBSVM' format. "
                       "Please ensure the file is in 'LIBSVM' format.")


def test_csv_whose_first_line_has_no_delimiter_is_refused(twin, tmp_path):
    """[du] _get_csv_delimiter: "Could not determine delimiter on line {}:\\n{}"."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "data.csv").write_text("\n1,2\n")
    assert user_error(twin, twin("data").validate_first_lines, tmp_path / "t", "csv").startswith(
        "Could not determine delimiter on line")


@pytest.mark.parametrize("delimiter", [",", "\t", ";", " "])
def test_csv_training_data_label_first_any_sniffed_delimiter(twin, tmp_path, delimiter):
    """[du] _get_csv_dmatrix_file_mode: delimiter sniffed from the first line, label_column=0, no header."""
    (tmp_path / "t").mkdir()
    rows = [[1, 0.5, 2.0], [0, 1.5, 3.0], [1, 2.5, 4.0]]
    (tmp_path / "t" / "d.csv").write_text("".join(delimiter.join(map(str, r)) + "\n" for r in rows))
    matrix = twin("data").dmatrix(tmp_path / "t", "csv")
    assert matrix.num_row() == 3 and matrix.num_col() == 2
    assert matrix.get_label().tolist() == [1, 0, 1]


def test_csv_weights_take_column_one(twin, tmp_path):
    """[du] csv_weights == 1 -> "...&label_column=0&delimiter={}&weight_column=1"."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "d.csv").write_text("1,0.25,5,6\n0,4,7,8\n")
    matrix = twin("data").dmatrix(tmp_path / "t", "csv", csv_weights=1)
    assert matrix.num_col() == 2 and matrix.get_weight().tolist() == [0.25, 4.0]


def test_parquet_training_data_label_first_and_underscore_files_skipped(twin, tmp_path):
    """[du] _get_parquet_dmatrix_file_mode: pq.read_table -> DMatrix(data[:, 1:], label=data[:, 0]);
    pyarrow's dataset reader ignores files named '_...'."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "t").mkdir()
    pq.write_table(pa.table({"y": [1.0, 0.0], "a": [3, 4], "b": [None, 2.5]}), tmp_path / "t" / "part-0.parquet")
    pq.write_table(pa.table({"y": [9.0], "a": [9], "b": [9.0]}), tmp_path / "t" / "_metadata.parquet")
    matrix = twin("data").dmatrix(tmp_path / "t", "parquet")
    assert matrix.num_row() == 2 and matrix.num_col() == 2 and matrix.get_label().tolist() == [1.0, 0.0]


def test_parquet_written_by_pandas_with_its_index_trains_on_the_columns_only(twin, tmp_path):
    """[du] _get_parquet_dmatrix_file_mode (data_utils.py:405-427): pq.read_table(...).to_pandas().to_numpy().
    pandas stores an index that is not a plain RangeIndex as a column (__index_level_0__) and to_pandas()
    makes it the index again, so it is no feature. Such an index is what train_test_split leaves."""
    import pandas as pd

    (tmp_path / "t").mkdir()
    frame = pd.DataFrame({"y": [1.0, 0.0, 1.0], "a": [3.0, 4.0, 5.0]}, index=[17, 3, 42])
    frame.to_parquet(tmp_path / "t" / "part-0.parquet")
    import pyarrow.parquet as pq
    assert "__index_level_0__" in pq.read_table(tmp_path / "t" / "part-0.parquet").column_names  # the premise
    matrix = twin("data").dmatrix(tmp_path / "t", "parquet")
    assert matrix.num_col() == 1 and matrix.get_label().tolist() == [1.0, 0.0, 1.0]


def test_recordio_protobuf_training_data_dense_and_sparse(twin, tmp_path):
    """[du] get_recordio_protobuf_dmatrix: features from features['values'] (dense, or sparse with keys and
    shape), labels from label['values']; records written with Google's protobuf runtime ([sc] record_pb2)."""
    (tmp_path / "t").mkdir()
    dense = [recordio_protobuf([1.0, 2.0, 3.0], label=1.0), recordio_protobuf([4.0, 5.0, 6.0], label=0.0)]
    sparse = [recordio_protobuf([7.0], label=1.0, keys=[2], shape=[3])]
    (tmp_path / "t" / "a.pbr").write_bytes(b"".join(dense + sparse))
    matrix = twin("data").dmatrix(tmp_path / "t", "recordio-protobuf")
    assert matrix.num_row() == 3 and matrix.num_col() == 3 and matrix.get_label().tolist() == [1.0, 0.0, 1.0]


def test_matrix_without_labels_is_refused(twin, tmp_path):
    """[du] get_dmatrix: "Got input data without labels. ..."."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "t").mkdir()
    pq.write_table(pa.table({"y": pa.array([], pa.float64()), "a": pa.array([], pa.float64())}),
                   tmp_path / "t" / "empty.parquet")
    assert user_error(twin, twin("data").dmatrix, tmp_path / "t", "parquet").startswith(
        "Got input data without labels. Please check the input data set.")


# ---- RecordIO-protobuf wire format [sc] ------------------------------------------------------------------

def _record_class():
    """aialgs.data.Record built with Google's protobuf runtime from the schema in [sc] record_pb2.py."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="twin_test_record.proto", package="aialgs.data", syntax="proto2")
    for name, kind in (("Float32Tensor", field.TYPE_FLOAT), ("Float64Tensor", field.TYPE_DOUBLE),
                       ("Int32Tensor", field.TYPE_INT32)):
        tensor = proto.message_type.add(name=name)
        for number, (fname, ftype) in enumerate((("values", kind), ("keys", field.TYPE_UINT64),
                                                 ("shape", field.TYPE_UINT64)), start=1):
            tensor.field.add(name=fname, number=number, type=ftype, label=field.LABEL_REPEATED).options.packed = True
    value = proto.message_type.add(name="Value")
    value.oneof_decl.add(name="value")
    for name, number, kind in (("float32_tensor", 2, "Float32Tensor"), ("float64_tensor", 3, "Float64Tensor"),
                               ("int32_tensor", 7, "Int32Tensor")):
        value.field.add(name=name, number=number, type=field.TYPE_MESSAGE, label=field.LABEL_OPTIONAL,
                        type_name=f".aialgs.data.{kind}", oneof_index=0)
    record = proto.message_type.add(name="Record")
    for name, entry, number in (("features", "FeaturesEntry", 1), ("label", "LabelEntry", 2)):
        nested = record.nested_type.add(name=entry)
        nested.options.map_entry = True
        nested.field.add(name="key", number=1, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
        nested.field.add(name="value", number=2, type=field.TYPE_MESSAGE, label=field.LABEL_OPTIONAL,
                         type_name=".aialgs.data.Value")
        record.field.add(name=name, number=number, type=field.TYPE_MESSAGE, label=field.LABEL_REPEATED,
                         type_name=f".aialgs.data.Record.{entry}")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("aialgs.data.Record"))


RECORD = None


def record_message():
    global RECORD
    if RECORD is None:
        RECORD = _record_class()
    return RECORD()


def frame(payload):
    """[sc] _write_recordio: magic 0xCED7230A, uint32 length, payload, zero padding to 4 bytes."""
    return struct.pack("I", 0xCED7230A) + struct.pack("I", len(payload)) + payload + b"\0" * ((-len(payload)) % 4)


def recordio_protobuf(features, label=None, keys=None, shape=None, tensor="float32_tensor"):
    """One RecordIO-framed Record, as [sc] _write_numpy_to_dense_tensor / _write_spmatrix_to_sparse_tensor write it."""
    record = record_message()
    values = getattr(record.features["values"], tensor)
    values.values.extend(features)
    if keys is not None:
        values.keys.extend(keys)
        values.shape.extend(shape)
    if label is not None:
        getattr(record.label["values"], tensor).values.extend([label])
    return frame(record.SerializeToString())


def parse_recordio_labels(body):
    """The label maps of RecordIO-protobuf records, read with Google's protobuf runtime."""
    out, pos = [], 0
    while pos < len(body):
        magic, length = struct.unpack_from("<II", body, pos)
        assert magic == 0xCED7230A
        record = record_message()
        record.ParseFromString(body[pos + 8:pos + 8 + length])
        out.append({key: list(value.float32_tensor.values) for key, value in record.label.items()})
        pos += 8 + length + (-length) % 4
    return out


@pytest.mark.parametrize("tensor", ["float32_tensor", "float64_tensor", "int32_tensor"])
def test_recordio_records_are_read_like_protobuf_writes_them(twin, tensor):
    """[sc] record_pb2: Value holds a float32, float64 or int32 tensor; keys/shape make it sparse."""
    recordio = twin("recordio")
    body = recordio_protobuf([1, -2, 3], label=1, tensor=tensor) + recordio_protobuf([4, 5, 6], label=0, tensor=tensor)
    features, labels = recordio.to_matrix(list(recordio.split_records(body)), with_labels=True)
    assert features.tolist() == [[1, -2, 3], [4, 5, 6]] and labels.tolist() == [1, 0]


def test_recordio_labels_written_by_the_twin_parse_with_protobuf(twin):
    """[su] _encode_selected_predictions_recordio_protobuf: record.label[key].float32_tensor.values."""
    recordio = twin("recordio")
    body = recordio.frame(recordio.serialize_record(label={"predicted_label": [1.0], "probabilities": [0.25, 0.75]}))
    assert parse_recordio_labels(body) == [{"predicted_label": [1.0], "probabilities": [0.25, 0.75]}]


def test_bytes_that_are_not_recordio_are_refused(twin):
    """The RecordIO magic number frames every record ([sc] _read_recordio asserts it)."""
    with pytest.raises(ValueError, match="no RecordIO magic number"):
        list(twin("recordio").split_records(b"1,2,3\n4,5,6\n"))


# ---- container-defined metrics [cm] [tr] ------------------------------------------------------------------

class FakeMatrix:
    def __init__(self, labels):
        self.labels = np.asarray(labels, dtype=np.float32)

    def get_label(self):
        return self.labels


@pytest.mark.parametrize("name, sklearn_score", [
    ("accuracy", lambda y, p: __import__("sklearn.metrics").metrics.accuracy_score(y, p)),
    ("balanced_accuracy", lambda y, p: __import__("sklearn.metrics").metrics.balanced_accuracy_score(y, p)),
    ("f1", lambda y, p: __import__("sklearn.metrics").metrics.f1_score(y, p, average="macro")),
    ("f1_macro", lambda y, p: __import__("sklearn.metrics").metrics.f1_score(y, p, average="macro")),
    ("precision_macro", lambda y, p: __import__("sklearn.metrics").metrics.precision_score(y, p, average="macro",
                                                                                           zero_division=0)),
    ("precision_micro", lambda y, p: __import__("sklearn.metrics").metrics.precision_score(y, p, average="micro")),
    ("recall_macro", lambda y, p: __import__("sklearn.metrics").metrics.recall_score(y, p, average="macro")),
    ("recall_micro", lambda y, p: __import__("sklearn.metrics").metrics.recall_score(y, p, average="micro")),
])
def test_multiclass_metrics_equal_scikit_learn_on_argmax_of_margins(twin, name, sklearn_score):
    """[cm] margin_to_class_label: argmax for several classes, then the scikit-learn score."""
    rng = np.random.default_rng(3)
    margins = rng.normal(size=(40, 3))
    labels = rng.integers(0, 3, 40)
    got_name, value = twin("metrics").CUSTOM_METRICS[name](margins, FakeMatrix(labels))
    assert got_name == name and value == pytest.approx(sklearn_score(labels, margins.argmax(axis=1)))


@pytest.mark.parametrize("name, sklearn_name", [("f1_binary", "f1_score"), ("precision", "precision_score"),
                                                ("recall", "recall_score"), ("accuracy", "accuracy_score")])
def test_binary_metrics_equal_scikit_learn_on_positive_margins(twin, name, sklearn_name):
    """[cm] margin_to_class_label: (preds > 0.0) for one margin per row; binary averages."""
    from sklearn import metrics as sk

    rng = np.random.default_rng(4)
    margins = rng.normal(size=50)
    labels = rng.integers(0, 2, 50)
    assert twin("metrics").CUSTOM_METRICS[name](margins, FakeMatrix(labels))[1] == \
        pytest.approx(getattr(sk, sklearn_name)(labels, (margins > 0).astype(int)))


def test_binary_averaged_metric_on_three_classes_is_the_users_error(twin):
    """[cm] f1_binary uses average='binary'; MULTI_CLASS_F1_BINARY_ERROR is in CUSTOMER_ERRORS (xgb_constants.py)."""
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        twin("metrics").CUSTOM_METRICS["f1_binary"](np.eye(3), FakeMatrix([0, 1, 2]))


@pytest.mark.parametrize("name, sklearn_name", [("mse", "mean_squared_error"), ("mae", "mean_absolute_error"),
                                                ("r2", "r2_score")])
def test_regression_metrics_equal_scikit_learn(twin, name, sklearn_name):
    """[cm] mse, mae, r2 on the raw predictions."""
    from sklearn import metrics as sk

    rng = np.random.default_rng(5)
    predictions, labels = rng.normal(size=30), rng.normal(size=30)
    assert twin("metrics").CUSTOM_METRICS[name](predictions, FakeMatrix(labels))[1] == \
        pytest.approx(getattr(sk, sklearn_name)(labels, predictions), rel=1e-5)


def test_rmse_is_a_container_metric(twin):
    """[cm] CUSTOM_METRICS has "rmse": the square root of the mean squared error."""
    assert twin("metrics").CUSTOM_METRICS["rmse"](np.array([1.0, 3.0]), FakeMatrix([0.0, 0.0]))[1] == \
        pytest.approx(math.sqrt(5))


@pytest.mark.parametrize("tuning, eval_metric, native, custom, stop_list", [
    (None, ["auc", "logloss"], ["auc", "logloss"], [], None),
    (None, ["accuracy", "logloss"], ["logloss"], ["accuracy"], None),
    ("validation:auc", None, ["auc"], [], ["auc"]),
    ("validation:f1", ["logloss", "auc"], ["auc", "logloss"], ["f1"], ["f1"]),  # sorted union
    (None, None, None, [], None),
])
def test_eval_metrics_split_between_xgboost_and_the_container(twin, tuning, eval_metric, native, custom, stop_list):
    """[tr] get_eval_metrics_and_feval: the tuning metric joins eval_metric (sorted union); the container's
    own metrics ([cm] CUSTOM_METRICS) go to feval, the rest stay with XGBoost."""
    got_native, feval, got_tuning = twin("metrics").configure(tuning, eval_metric)
    assert got_native == native and got_tuning == stop_list
    names = [name for name, _ in feval(np.zeros(2), FakeMatrix([0, 1]))] if feval else []
    assert names == custom


# ---- serving: payloads, predictions, encodings [su] [sc] ---------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    ("1,2,3\n4,5,6", [[1, 2, 3], [4, 5, 6]]),
    ("1\t2\t3\n4\t5\t6", [[1, 2, 3], [4, 5, 6]]),
    ("1;2;3", [[1, 2, 3]]),
    ("1,,3\n,5,", [[1, np.nan, 3], [np.nan, 5, np.nan]]),
    ("1.5", [[1.5]]),  # the sniffer picks '5', alphanumeric -> ',' (encoder.csv_to_dmatrix)
])
def test_csv_payload_sniffed_delimiter_and_empty_fields_as_missing(twin, body, expected):
    """[su] encoder.csv_to_dmatrix: sniff on the first line[:512], alnum -> ',', "" -> "nan", no label column."""
    got = twin("predictions").csv_to_array(body)
    np.testing.assert_array_equal(got, np.array(expected, dtype=float))


TRICKY_CELLS = ["1", " 1", "1 ", "\t2", "+1", "1.", ".5", "1e5", "1_0", "nan", "NaN", "-Infinity", "\u0661",
                "0x10", "1d5", "True"]


@pytest.mark.parametrize("cell", TRICKY_CELLS)
def test_csv_cell_is_read_as_the_real_encoders_string_array_cast_reads_it(twin, cell):
    """[su] encoder.csv_to_dmatrix: np.array(rows).astype(dtype) -- the same number, or a refusal, per cell."""
    try:
        expected = np.array([[cell, "0"]]).astype(float)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match="row 1, column 1"):
            twin("predictions").csv_to_array(f"{cell},0")
    else:
        np.testing.assert_array_equal(twin("predictions").csv_to_array(f"{cell},0"), expected)


def test_csv_payload_with_rows_of_different_lengths_says_which_row(twin):
    """Rows of unequal length cannot make a matrix ([su] np.array(...).astype fails); the twin names the row."""
    with pytest.raises(ValueError, match="row 2 has 2 values, row 1 has 3"):
        twin("predictions").csv_to_array("1,2,3\n4,5")


def test_libsvm_payload_columns_are_the_largest_index_plus_one(twin):
    """[su] _get_sparse_matrix_from_libsvm: 'index:value' items (a label without ':' is skipped) -> CSR."""
    matrix = twin("predictions").libsvm_to_sparse("1 0:1.5 3:2\n0 1:7")
    assert matrix.toarray().tolist() == [[1.5, 0, 0, 2], [0, 7, 0, 0]]


@pytest.mark.parametrize("header", ["application/x-parquet", "parquet"])
def test_parquet_requests_are_refused(twin, header):
    """[su] parse_content_data: parquet parses as a type but "Content-type {} is not supported."."""
    predictions = twin("predictions")
    with pytest.raises(predictions.BadPayload) as caught:
        predictions.parse(b"PAR1", header)
    assert str(caught.value) == f"Content-type {header} is not supported."


def test_request_without_content_type_is_read_as_libsvm(twin):
    """[du] get_content_type(None) returns LIBSVM; flask's request.content_type is None without the header."""
    matrix, kind = twin("predictions").parse(b"0:1 2:3", None)
    assert kind == "libsvm" and matrix.num_col() == 3


def booster(objective="binary:logistic", rounds=3, features=4, seed=0, **params):
    import xgboost as xgb

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(80, features))
    y = (x[:, 0] + rng.normal(size=80) > 0).astype(float) if objective != "multi:softprob" else rng.integers(0, 3, 80)
    return xgb.train({"objective": objective, **params}, xgb.DMatrix(x, label=y), rounds), x


def test_pickled_booster_checks_the_column_count(twin, tmp_path):
    """[su] predict: for pkl_format models the data must have the model's columns or one fewer:
    "Feature size of {} inference data {} is not consistent with feature size of trained model {}."."""
    import pickle

    import xgboost as xgb

    model, x = booster()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.pkl").write_bytes(pickle.dumps(model))
    predictions = twin("predictions")
    loaded = predictions.load(tmp_path / "m")
    assert loaded.formats == ["pkl_format"]
    assert predictions.predict(loaded, xgb.DMatrix(x[:2, :3]), "csv").shape == (2,)
    with pytest.raises(ValueError) as caught:
        predictions.predict(loaded, xgb.DMatrix(x[:2, :2]), "csv")
    assert str(caught.value) == ("Feature size of csv inference data 2 is not consistent with feature size of "
                                 "trained model 4.")


def test_ensemble_averages_every_non_dot_file(twin, tmp_path):
    """[su] get_loaded_booster: every file not starting with '.' is a model (pickle first, else load_model);
    predict averages them (np.mean(..., axis=0)); SAGEMAKER_INFERENCE_ENSEMBLE=false keeps the first."""
    import pickle

    import xgboost as xgb

    first, x = booster(seed=0)
    second, _ = booster(seed=1)
    (tmp_path / "m").mkdir()
    first.save_model(str(tmp_path / "m" / "a-model"))
    (tmp_path / "m" / "b-model").write_bytes(pickle.dumps(second))
    (tmp_path / "m" / ".hidden").write_text("not a model")
    predictions = twin("predictions")
    both = predictions.load(tmp_path / "m")
    assert both.formats == ["xgb_format", "pkl_format"]
    expected = (first.predict(xgb.DMatrix(x[:5])) + second.predict(xgb.DMatrix(x[:5]))) / 2
    np.testing.assert_allclose(predictions.predict(both, xgb.DMatrix(x[:5]), "csv"), expected, rtol=1e-6)
    assert len(predictions.load(tmp_path / "m", ensemble=False).boosters) == 1


def test_model_archive_left_in_the_model_folder_is_not_a_model(twin, tmp_path):
    """SageMaker SDK local mode unpacks model.tar.gz next to itself and mounts that folder as /opt/ml/model
    (sagemaker/core/local/image.py, _prepare_serving_volumes); [su] would load the archive as a model and
    fail. The twin's documented difference: archives are skipped."""
    import tarfile

    model, _ = booster()
    (tmp_path / "m").mkdir()
    model.save_model(str(tmp_path / "m" / "xgboost-model"))
    with tarfile.open(tmp_path / "m" / "model.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "m" / "xgboost-model", arcname="xgboost-model")
    loaded = twin("predictions").load(tmp_path / "m")
    assert loaded.formats == ["xgb_format"] and len(loaded.boosters) == 1


def test_ensemble_of_softmax_models_votes(twin):
    """[su] predict: multi:softmax and binary:hinge ensembles take the per-row mode
    (scipy.stats.mode: the smallest value on ties)."""
    stacked = np.array([[0.0, 2.0, 1.0], [2.0, 2.0, 0.0], [2.0, 1.0, 0.0]])
    assert twin("predictions")._vote(stacked).tolist() == [2.0, 2.0, 0.0]


def test_default_csv_answer_one_prediction_per_line_with_trailing_newline(twin):
    """[sc] _encoders.array_to_csv: 1-D reshaped to a column, csv.writer(lineterminator="\\n");
    2-D rows comma-joined."""
    predictions = twin("predictions")
    scores = np.array([0.43861907720565796, 0.4533972144126892], dtype=np.float32)
    assert predictions.encode(scores, "text/csv", batch=False) == "0.43861907720565796\n0.4533972144126892\n"
    probabilities = np.array([[0.25, 0.75], [0.5, 0.5]], dtype=np.float32)
    assert predictions.encode(probabilities, "text/csv", batch=False) == "0.25,0.75\n0.5,0.5\n"


def test_default_json_answer_is_predictions_of_scores(twin):
    """[su] encode_predictions_as_json (unit-tested verbatim in the real repository)."""
    scores = np.array([0.43861907720565796, 0.4533972144126892, 0.06351257115602493], dtype=np.float32)
    assert twin("predictions").encode(scores, "application/json", batch=False) == (
        '{"predictions": [{"score": 0.43861907720565796}, {"score": 0.4533972144126892}, '
        '{"score": 0.06351257115602493}]}')


@pytest.mark.parametrize("accept", ["text/csv", "application/json", "application/jsonlines"])
def test_batch_answer_is_str_of_each_prediction_per_line_whatever_the_accept(twin, accept):
    """[su] serve.invocations: if SAGEMAKER_BATCH: "\\n".join(map(str, preds_list)) + "\\n"."""
    predictions = twin("predictions")
    assert predictions.encode(np.array([0.5, 0.25], dtype=np.float32), accept, batch=True) == "0.5\n0.25\n"
    assert predictions.encode(np.array([[0.5, 0.5]], dtype=np.float32), accept, batch=True) == "[0.5, 0.5]\n"


def test_npy_answer_is_numpys_save_of_the_predictions(twin):
    """[su] serve.invocations: encoders.encode(preds_list, accept); [sc] _encoders._encoders_map has
    application/x-npy -> array_to_npy (np.save), so SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT=application/x-npy
    answers NPY bytes (the variable is not checked against SUPPORTED_ACCEPTS)."""
    import io

    body = twin("predictions").encode(np.array([0.25, 0.5], dtype=np.float32), "application/x-npy", batch=False)
    assert np.load(io.BytesIO(body)).tolist() == [0.25, 0.5]


@pytest.mark.parametrize("accept", ["application/jsonlines", "application/x-recordio-protobuf", "text/plain"])
def test_types_the_encoder_cannot_write_are_its_unsupported_format_error(twin, accept):
    """[sc] _encoders.encode raises UnsupportedFormatError ("Content type {} is not supported by this
    framework.") for types outside NPY, CSV, JSON; uncaught in the real Flask view, hence a 500."""
    predictions = twin("predictions")
    with pytest.raises(predictions.UnsupportedFormat, match=f"Content type {accept} is not supported by this"):
        predictions.encode(np.array([0.5]), accept, batch=False)


def test_selectable_binary_logistic_keys(twin):
    """[su] get_selected_predictions with the real unit test's data (TEST_PREDICTIONS_BINARY_LOG)."""
    got = twin("predictions").select(np.array([0.6, 0.1]), ["predicted_label", "labels", "probability",
                                                           "probabilities", "raw_score", "raw_scores"],
                                     "binary:logistic")
    expected = [{"predicted_label": 1, "labels": [0, 1], "probability": 0.6, "probabilities": [0.4, 0.6],
                 "raw_score": 0.6, "raw_scores": [0.4, 0.6]},
                {"predicted_label": 0, "labels": [0, 1], "probability": 0.1, "probabilities": [0.9, 0.1],
                 "raw_score": 0.1, "raw_scores": [0.9, 0.1]}]
    assert _close(got, expected)


def _close(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert list(g) == list(e)
        for key in e:
            assert np.allclose(g[key], e[key]), key
    return True


def test_selectable_multiclass_and_regression_keys(twin):
    """[su] VALID_OBJECTIVES: softprob answers label/probabilities per class; regression only predicted_score;
    keys an objective cannot answer are NaN."""
    predictions = twin("predictions")
    got = predictions.select(np.array([[0.1, 0.7, 0.2]]), ["predicted_label", "labels", "probability",
                                                          "probabilities"], "multi:softprob", num_class="3")
    assert _close(got, [{"predicted_label": 1, "labels": [0, 1, 2], "probability": 0.7,
                         "probabilities": [0.1, 0.7, 0.2]}])
    got = predictions.select(np.array([0.5, -7.0]), ["predicted_score", "probability"], "reg:squarederror")
    assert got[1]["predicted_score"] == -7.0 and math.isnan(got[1]["probability"])


def test_selectable_inference_refuses_objectives_it_does_not_know(twin):
    """[su] "Objective `{}` unsupported for selectable inference predictions."."""
    with pytest.raises(ValueError, match="Objective `survival:cox` unsupported for selectable inference predictions."):
        twin("predictions").select(np.array([1.0]), ["predicted_score"], "survival:cox")


def test_selectable_encodings(twin):
    """[su] encode_selected_predictions: json {"predictions": [...]}, jsonlines one object per line,
    csv lists quoted as '"[0.4, 0.6]"' and no final newline unless in batch (the real unit tests' examples)."""
    predictions = twin("predictions")
    answers = [{"predicted_label": 1, "probabilities": [0.4, 0.6]}, {"predicted_label": 0, "probabilities": [0.9, 0.1]}]
    keys = ["predicted_label", "probabilities"]
    assert predictions.encode_selected(answers, keys, "application/json", False) == json.dumps({"predictions": answers})
    assert predictions.encode_selected(answers, keys, "application/jsonlines", False) == (
        '{"predicted_label": 1, "probabilities": [0.4, 0.6]}\n{"predicted_label": 0, "probabilities": [0.9, 0.1]}\n')
    assert predictions.encode_selected(answers, keys, "text/csv", False) == '1,"[0.4, 0.6]"\n0,"[0.9, 0.1]"'
    assert predictions.encode_selected(answers, keys, "text/csv", True) == '1,"[0.4, 0.6]"\n0,"[0.9, 0.1]"\n'
    assert parse_recordio_labels(predictions.encode_selected(answers, keys, "application/x-recordio-protobuf", False)) \
        == [{"predicted_label": [1.0], "probabilities": pytest.approx([0.4, 0.6])},
            {"predicted_label": [0.0], "probabilities": pytest.approx([0.9, 0.1])}]


@pytest.mark.parametrize("header, accept", [
    (None, "text/csv"), ("*/*", "text/csv"), ("application/json", "application/json"),
    ("application/json; verbose=True", "application/json"), ("Text/CSV", "text/csv"),
    ("application/jsonlines", "application/jsonlines"),
])
def test_accept_parsing(twin, header, accept):
    """[su] serve._parse_accept: first media type, parameters dropped, missing or */* -> default text/csv."""
    assert twin("inference").parse_accept(header) == accept


@pytest.mark.parametrize("header", ["application/xml", "text/csv, application/json", "text/*"])
def test_unsupported_accept_message(twin, header):
    """[su] serve._parse_accept: "Accept type {} is not supported. Please use supported accept types: {}."."""
    with pytest.raises(ValueError) as caught:
        twin("inference").parse_accept(header)
    assert str(caught.value) == (f"Accept type {header} is not supported. Please use supported accept types: "
                                 "['application/json', 'application/jsonlines', 'application/x-recordio-protobuf', "
                                 "'text/csv'].")


def test_default_accept_comes_from_the_environment(twin, monkeypatch):
    """[su] _parse_accept: os.getenv(SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, "text/csv")."""
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
    assert twin("inference").parse_accept("*/*") == "application/json"


# ---- a whole training run, in-process [tr] [sc] [cb] --------------------------------------------------------

@pytest.fixture
def run_in_process(twin, tmp_path):
    """Run the twin's sagemaker_train() (algorithm_mode/train.py) as training.run_algorithm_mode calls it:
    the raw config files, the channel folders, the model folder. Returns (the exception or None, root)."""
    from smworkshop import opt_ml

    def run(hyperparameters, channels, content_type="text/csv"):
        root = opt_ml.prepare(tmp_path / "opt_ml", hyperparameters=hyperparameters, channels=channels)
        config = json.loads((root / "input/config/inputdataconfig.json").read_text())
        for value in config.values():
            if content_type is None:
                value.pop("ContentType")
            else:
                value["ContentType"] = content_type
        data = root / "input" / "data"
        try:
            twin("train").sagemaker_train(
                train_config=json.loads((root / "input/config/hyperparameters.json").read_text()),
                data_config=config, train_path=str(data / "train"),
                val_path=str(data / "validation") if "validation" in config else None,
                model_dir=str(root / "model"), sm_hosts=["algo-1"], sm_current_host="algo-1", checkpoint_config={})
        except Exception as err:  # noqa: BLE001 - the test looks at it
            return err, root
        return None, root
    return run


def regression_csv(folder, rows=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    y = 2 * x[:, 0] + rng.normal(scale=0.1, size=rows)
    folder.mkdir(parents=True)
    np.savetxt(folder / "data.csv", np.column_stack([y, x]), delimiter=",")
    return x, y


def test_training_prints_one_evaluation_monitor_line_per_round(run_in_process, tmp_path, capsys):
    """[tr] watchlist [(train, "train"), (validation, "validation")] + [cb] EvaluationMonitor:
    f"[{epoch}]" + f"\\t{data}-{metric}:{score:.5f}" per data set and metric."""
    regression_csv(tmp_path / "train")
    regression_csv(tmp_path / "validation", seed=1)
    error, root = run_in_process({"num_round": 4, "objective": "reg:squarederror"},
                                 {"train": tmp_path / "train", "validation": tmp_path / "validation"})
    assert error is None
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert len(lines) == 4
    for number, line in enumerate(lines):
        assert re.fullmatch(rf"\[{number}\]\ttrain-rmse:\d+\.\d{{5}}\tvalidation-rmse:\d+\.\d{{5}}", line), line
    assert (root / "model" / "xgboost-model").read_bytes()[:4] == b"binf"  # legacy binary: no file extension


def test_unknown_hyperparameter_is_raised_while_handling_the_lookups_key_error(run_in_process, tmp_path):
    """[hpv] validate(): `except KeyError: raise exc.UserError("Extraneous hyperparameter found: ...")`, so
    the UserError carries the KeyError as its context: [sc] _trainer writes traceback.format_exc() of
    both into the failure file ("During handling of the above exception, another exception occurred")."""
    regression_csv(tmp_path / "train")
    error, root = run_in_process({"num_round": 4, "etaa": "0.1"}, {"train": tmp_path / "train"})
    assert str(error) == "Extraneous hyperparameter found: etaa"
    assert isinstance(error.__context__, KeyError) and error.__context__.args == ("etaa",)
    assert not error.__suppress_context__
    assert not (root / "model" / "xgboost-model").exists()


def test_container_metrics_print_after_xgboosts_own(run_in_process, tmp_path, capsys):
    """[tr] eval_metric=accuracy is a container metric, so eval_metric is dropped for XGBoost and its default
    (logloss for binary:logistic) prints first; XGBoost's Booster.eval_set appends feval results."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    (tmp_path / "train").mkdir()
    np.savetxt(tmp_path / "train" / "d.csv", np.column_stack([(x[:, 0] > 0).astype(int), x]), delimiter=",")
    error, _ = run_in_process({"num_round": 2, "objective": "binary:logistic", "eval_metric": "accuracy"},
                              {"train": tmp_path / "train"})
    assert error is None
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert re.fullmatch(r"\[0\]\ttrain-logloss:\d\.\d{5}\ttrain-accuracy:\d\.\d{5}", lines[0]), lines[0]


def test_libsvm_is_the_default_content_type_for_training(run_in_process, tmp_path):
    """[chv] a channel without ContentType is text/libsvm."""
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "d.libsvm").write_text("1 0:1 1:2\n0 0:2 1:1\n1 0:1.5 1:2.5\n")
    error, root = run_in_process({"num_round": 2}, {"train": tmp_path / "train"}, content_type=None)
    assert error is None and (root / "model" / "xgboost-model").exists()


def test_empty_validation_channel_is_an_error(run_in_process, tmp_path):
    """[tr] sagemaker_train: raise exc.UserError(f"No data in validation channel path {val_path}")."""
    regression_csv(tmp_path / "train")
    (tmp_path / "validation").mkdir()
    error, root = run_in_process({"num_round": 2}, {"train": tmp_path / "train", "validation": tmp_path / "validation"})
    assert str(error) == f"No data in validation channel path {root / 'input' / 'data' / 'validation'}"


# ---- what users' scripts import from sagemaker_xgboost_container -------------------------------------------

@pytest.fixture
def package(program_module):
    return lambda module: program_module(CONTAINER, f"sagemaker_xgboost_container.{module}")


def test_data_utils_get_dmatrix_reads_a_channel_label_first(package, tmp_path):
    """@1.7-1 data_utils.get_dmatrix(data_path, content_type, csv_weights=0, is_pipe=False), as AWS's abalone
    script-mode example calls it (get_dmatrix(args.train, "libsvm")): a folder or one file, label in column 0."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.libsvm").write_text("1 0:1.5 2:2\n0 1:3\n")
    data_utils = package("data_utils")
    for path in (tmp_path / "t", tmp_path / "t" / "a.libsvm"):
        matrix = data_utils.get_dmatrix(str(path), "libsvm")
        assert matrix.num_row() == 2 and matrix.get_label().tolist() == [1.0, 0.0]


def test_checkpointing_train_saves_each_round_and_resumes_from_the_newest(package, tmp_path):
    """@1.7-1 checkpointing.train(train_args, checkpoint_dir): checkpoints named xgboost-checkpoint.<round>
    (SaveCheckpointCallBack.format_path), the last 5 kept; a second call resumes at the newest round + 1 and
    runs only the rounds left of num_boost_round (load_checkpoint)."""
    import xgboost as xgb

    checkpointing = package("checkpointing")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    dtrain = xgb.DMatrix(x, label=(x[:, 0] > 0).astype(float))
    args = {"params": {"objective": "binary:logistic"}, "dtrain": dtrain, "num_boost_round": 7}
    first = checkpointing.train(args, str(tmp_path / "ck"))
    assert first.num_boosted_rounds() == 7
    assert sorted((tmp_path / "ck").iterdir()) == [tmp_path / "ck" / f"xgboost-checkpoint.{n}" for n in range(2, 7)]
    assert checkpointing.load_checkpoint(str(tmp_path / "ck")) == (str(tmp_path / "ck" / "xgboost-checkpoint.6"), 7)
    (tmp_path / "ck" / "xgboost-checkpoint.6").unlink()  # as if the job had stopped after round 5
    resumed = checkpointing.train({**args, "num_boost_round": 9}, str(tmp_path / "ck"))
    assert resumed.num_boosted_rounds() == 9
    assert (tmp_path / "ck" / "xgboost-checkpoint.8").exists()


# ---- documented differences (containers/xgboost-1.7-1/README.md, "Differences from AWS's image") ----------

def test_difference_tuples_are_read_without_eval(twin, validate):
    """[hpv] TupleHyperparameter.parse is eval(value): "(1,a)" raises NameError there. The twin reads tuples
    with ast.literal_eval and reports what it cannot read as a parse error."""
    message = user_error(twin, validate, {"num_round": "5", "tree_method": "hist", "monotone_constraints": "(1,a)"})
    assert message == "Hyperparameter monotone_constraints: could not parse value (caused by ValueError)"


def test_difference_xgboost_messages_are_cut_before_the_native_stack_trace(twin):
    """XGBoost appends "Stack trace:" and native frames to its errors; the twin's messages stop before it."""
    assert twin("errors").short_message(ValueError("[09:00:00] label must be in [0,1]\nStack trace:\n  [bt] (0) x")) \
        == "[09:00:00] label must be in [0,1]"


def test_difference_csv_delimiter_comes_from_the_first_file_in_sorted_order(twin, tmp_path):
    """[du] _get_csv_dmatrix_file_mode sniffs the first file os.listdir returns in its folder of links (names
    carry hash(path): an order that changes between runs), so Spark's empty _SUCCESS beside part-*.csv fails
    the real job only sometimes. The twin takes the sorted order: _SUCCESS comes first and always fails."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "_SUCCESS").write_text("")
    (tmp_path / "t" / "part-00000.csv").write_text("1,2,3\n0,1,1\n")
    twin("data").validate_first_lines(tmp_path / "t", "csv")  # the first-line check skips "_" files
    assert user_error(twin, twin("data").dmatrix, tmp_path / "t", "csv").startswith(
        "Could not determine delimiter on line")


def test_difference_what_the_twin_does_not_run_is_refused_or_said(run_in_process, twin, tmp_path, caplog):
    """[tr] sagemaker_train supports _kfold, several hosts (Rabit), Pipe mode and checkpoints; the twin refuses
    the first three with a sentence and warns that it writes no checkpoints."""
    regression_csv(tmp_path / "train")
    error, _ = run_in_process({"num_round": 2, "_kfold": "3"}, {"train": tmp_path / "train"})
    assert str(error) == "k-fold cross-validation (_kfold) is not implemented by this local twin"
    config = {"train": {"ContentType": "text/csv", "TrainingInputMode": "File"}}
    common = dict(train_config={"num_round": "2"}, train_path=str(tmp_path / "train"), val_path=None,
                  model_dir=str(tmp_path / "model"), sm_current_host="algo-1")
    train, errors = twin("train"), twin("errors")
    with pytest.raises(errors.UserError, match="trains on one host only"):
        train.sagemaker_train(data_config=config, sm_hosts=["algo-1", "algo-2"], checkpoint_config={}, **common)
    with pytest.raises(errors.UserError, match="Pipe mode is not implemented"):
        train.sagemaker_train(data_config={"train": {"ContentType": "text/csv", "TrainingInputMode": "Pipe"}},
                              sm_hosts=["algo-1"], checkpoint_config={}, **common)
    train.sagemaker_train(data_config=config, sm_hosts=["algo-1"], checkpoint_config={"LocalPath": "/opt/ml/checkpoints"},
                          **common)
    assert "this local twin writes no checkpoints" in caplog.text
