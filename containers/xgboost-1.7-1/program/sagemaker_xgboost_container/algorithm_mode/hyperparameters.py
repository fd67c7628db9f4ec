"""Hyperparameter validation, as the built-in XGBoost algorithm does it before it touches any data.

The rules and messages follow the public source of the real image (branch 1.7-1 of
github.com/aws/sagemaker-xgboost-container):
- src/sagemaker_algorithm_toolkit/hyperparameter_validation.py: the steps and the message formats;
- src/sagemaker_xgboost_container/algorithm_mode/hyperparameter_validation.py: the names, types,
  ranges, aliases and the rules between hyperparameters.

The steps, in order (the first failure wins; Hyperparameters.validate):
1. aliases are replaced (learning_rate -> eta, min_split_loss -> gamma, reg_lambda -> lambda,
   reg_alpha -> alpha);
2. "Missing required hyperparameter: num_round";
3. each name in the caller's order: "Extraneous hyperparameter found: NAME" for an unknown one (raised
   while handling the KeyError of the lookup, so a traceback shows both), else the string is parsed
   (int(), float(), a comma list, a Python literal); a ValueError there becomes
   "Hyperparameter NAME: could not parse value (caused by ValueError)", any other error goes through;
4. ranges: "Hyperparameter NAME: VALUE is not in RANGE" (RANGE printed like [0, 1], (0, 1], [1, +inf)),
   or "Hyperparameter NAME: value VALUE not in range RANGE" for the list-valued ones; a check that
   fails with anything but a UserError (e.g. a constraint that is not a list) is an AlgorithmError
   "Hyperparameter NAME: unexpected failure when validating VALUE (caused by TypeError)";
5. the rules between hyperparameters, in the real toolkit's order: a depth-first walk over the given
   names puts each rule's dependencies first (_sort_dependencies), and a rule sees the dependencies
   validated before it (objective and num_class, eval_metric and objective, ...).
A rule only sees the hyperparameters the caller gave, exactly as in the real toolkit. The messages
keep the real ones' slips: "Choose one from thefollowing", and the gblinear message that spells out a
Python generator object letter by letter.
"""
import ast

from .errors import AlgorithmError, UserError

ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}

# algorithm_mode/metrics.py + constants/xgb_constants.py: the metrics the algorithm knows, and which
# way each one improves (early stopping maximises the first list).
MAXIMIZE_METRICS = ["accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map",
                    "ndcg", "precision", "r2", "recall", "precision_macro", "precision_micro", "recall_macro",
                    "recall_micro"]
MINIMIZE_METRICS = ["aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik",
                    "interval-regression-accuracy", "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse",
                    "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik"]
METRICS = MAXIMIZE_METRICS + MINIMIZE_METRICS
# The objective metric a tuning job may name: "validation:<metric>".
TUNING_METRICS = [f"validation:{name}" for name in METRICS]

OBJECTIVES = ["aft_loss_distribution", "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson",
              "multi:softmax", "multi:softprob", "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear",
              "reg:squarederror", "reg:logistic", "reg:gamma", "reg:pseudohubererror", "reg:squaredlogerror",
              "reg:absoluteerror", "reg:tweedie", "survival:aft", "survival:cox"]
# The updater range exactly as the real one prints it in its message (its list repeats some names).
UPDATER_RANGE = ["grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync", "refresh", "prune",
                 "grow_colmaker", "distcol", "grow_histmaker", "grow_colmaker", "shotgun", "coord_descent",
                 "refresh", "prune"]
TREE_UPDATERS = ["grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync", "refresh", "prune",
                 "grow_quantile_histmaker"]
TREE_GROW_UPDATERS = ["grow_colmaker", "distcol", "grow_histmaker", "grow_quantile_histmaker"]
LINEAR_UPDATERS = ["shotgun", "coord_descent"]


class Interval:
    """A numeric range that prints like the real toolkit's: [0, 1], (0, 1], [1, +inf), (-inf, 5)."""

    def __init__(self, min_open=None, min_closed=None, max_open=None, max_closed=None):
        self.min_open, self.min_closed, self.max_open, self.max_closed = min_open, min_closed, max_open, max_closed

    def __contains__(self, value):
        return not ((self.min_open is not None and value <= self.min_open)
                    or (self.min_closed is not None and value < self.min_closed)
                    or (self.max_open is not None and value >= self.max_open)
                    or (self.max_closed is not None and value > self.max_closed))

    def __str__(self):
        if self.min_open is not None:
            low = f"({self.min_open}, "
        elif self.min_closed is not None:
            low = f"[{self.min_closed}, "
        else:
            low = "(-inf, "
        if self.max_open is not None:
            high = f"{self.max_open})"
        elif self.max_closed is not None:
            high = f"{self.max_closed}]"
        else:
            high = "+inf)"
        return low + high


class Choices:
    """A set of allowed values that prints as a Python list; CHECK may replace plain membership."""

    def __init__(self, values, check=None):
        self.values, self.check = list(values), check

    def __contains__(self, value):
        return self.check(value) if self.check else value in self.values

    def __str__(self):
        return str(self.values)


# ---- kinds of hyperparameter: how the string is parsed, how the range is checked ------------------

class Hyperparameter:
    list_valued = False

    def __init__(self, name, allowed, required=False, rule=None):
        self.name, self.allowed, self.required, self.rule = name, allowed, required, rule

    def parse(self, value):
        return value

    def outside(self, value):
        return value not in self.allowed

    def check_range(self, value):
        if self.outside(value):
            if self.list_valued:
                raise UserError(f"Hyperparameter {self.name}: value {value} not in range {self.allowed}")
            raise UserError(f"Hyperparameter {self.name}: {value} is not in {self.allowed}")


class Integer(Hyperparameter):
    def parse(self, value):
        return int(value)


class Continuous(Hyperparameter):
    def parse(self, value):
        return float(value)


class Categorical(Hyperparameter):
    pass


class CommaList(Hyperparameter):
    """"a,b,c" -> ["a", "b", "c"] (no spaces are stripped, as in the real one); each item checked."""
    list_valued = True

    def parse(self, value):
        return value.split(",")

    def outside(self, value):
        return any(item not in self.allowed for item in value)


class Literal(Hyperparameter):
    """A Python literal such as "(1, -1, 0)" or "[[1, 2], [3, 4]]".

    Nested lists are read with ast.literal_eval, as the real NestedListHyperparameter does (so "[[1, 2]"
    fails with SyntaxError, "[[a]]" with ValueError). The real TupleHyperparameter uses eval(); the twin
    reads tuples with ast.literal_eval too and turns its errors into ValueError (a documented difference:
    the same values, no code execution).
    """
    list_valued = True

    def __init__(self, *args, nested=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.nested = nested

    def parse(self, value):
        if not isinstance(value, str):
            return value
        if self.nested:
            return ast.literal_eval(value)
        try:
            return ast.literal_eval(value.strip())
        except (SyntaxError, ValueError) as err:
            raise ValueError(str(err)) from None

    def outside(self, value):
        # A value that is not a (nested) sequence raises TypeError here, as in the real validate_range.
        items = [element for outer in value for element in outer] if self.nested else list(value)
        return any(item not in self.allowed for item in items)


# ---- the rules between hyperparameters --------------------------------------------------------------

def _objective_rule(value, given):
    if value in ("multi:softmax", "multi:softprob") and given.get("num_class") is None:
        raise UserError("Require input for parameter 'num_class' for multi-classification")


def _eval_metric_rule(value, given):
    # The real validator reads dependencies["objective"]: without an objective the job stops with
    # KeyError: 'objective', and so it does here.
    objective = given["objective"]
    if "auc" in value and not any(objective.startswith(kind) for kind in ("binary:", "rank:")):
        raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")
    if "aft-nloglik" in value and objective != "survival:aft":
        raise UserError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")


def _monotone_rule(value, given):
    if given.get("tree_method") not in ("exact", "hist"):
        raise UserError("monotone_constraints can be used only when the tree_method parameter is set to "
                        "either 'exact' or 'hist'.")


def _interaction_rule(value, given):
    if given.get("tree_method") not in ("exact", "hist", "approx"):
        raise UserError("interaction_constraints can be used only when the tree_method parameter is set to "
                        "either 'exact', 'hist' or 'approx'.")


def _updater_rule(value, given):
    if given.get("booster") == "gblinear":
        if not (len(value) == 1 and value[0] in LINEAR_UPDATERS):
            # The real message formats a generator and joins its text letter by letter: kept as it is.
            raise UserError("Linear updater should be one of these options: {}.".format(
                ", ".join("'{0}'".format(updater for updater in LINEAR_UPDATERS))))
    elif given.get("process_type") == "update":
        if not all(item in ("refresh", "prune") for item in value):
            raise UserError("process_type 'update' can only be used with updater 'refresh' and 'prune'")
    else:
        if not all(item in TREE_UPDATERS for item in value):
            raise UserError("Tree updater should be selected from these options: 'grow_colmaker', 'distcol', "
                            "'grow_histmaker', 'grow_skmaker', 'grow_quantile_histmaker', 'sync', 'refresh', "
                            "'prune', 'shortgun', 'coord_descent'.")
        if sum(item in TREE_GROW_UPDATERS for item in value) > 1:
            raise UserError("Only one tree grow plugin can be selected. Choose one from thefollowing: "
                            "'grow_colmaker', 'distcol', 'grow_histmaker', 'grow_skmaker'")


def _eval_metric_allowed(metric):
    if "<function" in metric:
        raise UserError(f"User defined evaluation metric {metric} is not supported yet.")
    if "@" in metric:
        name, threshold = metric.split("@")[0].strip(), metric.split("@")[1].strip()
        if name not in ("error", "ndcg", "map"):
            raise UserError(f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized "
                            "threshold should be one of these options: 'error', 'ndcg', 'map'.")
        try:
            float(threshold)
        except ValueError:
            raise UserError(f"Threshold value 't' in '{name}@t' expects float input.") from None
        return True
    return metric in METRICS


def _table():
    at_least = lambda low: Interval(min_closed=low)  # noqa: E731
    unit = Interval(min_closed=0, max_closed=1)
    open_unit = Interval(min_open=0, max_closed=1)
    true_false = Choices(["true", "false"])
    return [
        Integer("num_round", at_least(1), required=True),
        Integer("csv_weights", unit),
        Integer("early_stopping_rounds", at_least(1)),
        Categorical("booster", Choices(["gbtree", "gblinear", "dart"])),
        Integer("verbosity", Interval(min_closed=0, max_closed=3)),
        Integer("nthread", at_least(1)),
        Continuous("eta", unit),
        Continuous("gamma", at_least(0)),
        Integer("max_depth", at_least(0)),
        Continuous("min_child_weight", at_least(0)),
        Continuous("max_delta_step", at_least(0)),
        Continuous("subsample", open_unit),
        Continuous("colsample_bytree", open_unit),
        Continuous("colsample_bylevel", open_unit),
        Continuous("colsample_bynode", open_unit),
        Continuous("lambda", at_least(0)),
        Continuous("alpha", at_least(0)),
        Categorical("tree_method", Choices(["auto", "exact", "approx", "hist", "gpu_hist"])),
        Continuous("sketch_eps", Interval(min_open=0, max_open=1)),
        Continuous("scale_pos_weight", Interval(min_open=0)),
        CommaList("updater", Choices(UPDATER_RANGE), rule=(_updater_rule, ("booster", "process_type"))),
        Categorical("dsplit", Choices(["row", "col"])),
        Integer("refresh_leaf", unit),
        Categorical("process_type", Choices(["default", "update"])),
        Categorical("grow_policy", Choices(["depthwise", "lossguide"])),
        Integer("max_leaves", at_least(0)),
        Integer("max_bin", at_least(0)),
        Categorical("predictor", Choices(["auto", "cpu_predictor", "gpu_predictor"])),
        Literal("monotone_constraints", Choices([-1, 0, 1]), rule=(_monotone_rule, ("tree_method",))),
        Literal("interaction_constraints", at_least(1), nested=True, rule=(_interaction_rule, ("tree_method",))),
        Categorical("sample_type", Choices(["uniform", "weighted"])),
        Categorical("normalize_type", Choices(["tree", "forest"])),
        Continuous("rate_drop", unit),
        Integer("one_drop", unit),
        Continuous("skip_drop", unit),
        Continuous("lambda_bias", unit),
        Continuous("tweedie_variance_power", Interval(min_open=1, max_open=2)),
        Categorical("objective", Choices(OBJECTIVES), rule=(_objective_rule, ("num_class",))),
        Integer("num_class", at_least(2)),
        Continuous("base_score", at_least(0)),
        Integer("_kfold", at_least(2)),
        Integer("_num_cv_round", at_least(1)),
        Categorical("_tuning_objective_metric", Choices(TUNING_METRICS)),
        CommaList("eval_metric", Choices(METRICS, check=_eval_metric_allowed),
                  rule=(_eval_metric_rule, ("objective",))),
        Integer("seed", Interval(min_open=-(2 ** 31), max_open=2 ** 31 - 1)),
        Integer("num_parallel_tree", at_least(1)),
        Categorical("save_model_on_termination", true_false),
        Categorical("aft_loss_distribution", Choices(["normal", "logistic", "extreme"])),
        Continuous("aft_loss_distribution_scale", at_least(0)),
        Categorical("deterministic_histogram", true_false),
        Categorical("sampling_method", Choices(["uniform", "gradient_based"])),
        Integer("prob_buffer_row", Interval(min_open=1.0)),
        Categorical("use_dask_gpu_training", true_false),
    ]


HYPERPARAMETERS = {hp.name: hp for hp in _table()}


def dependency_order(names):
    """NAMES in the order the real toolkit validates their rules: Hyperparameters._sort_dependencies
    visits each name depth-first, its given dependencies first, and validate() pops from the end of the
    stack it builds, so every rule runs after the rules of the hyperparameters it depends on."""
    visited = {name: False for name in names}
    stack = []

    def visit(name):
        visited[name] = True
        rule = HYPERPARAMETERS[name].rule
        for dependency in (rule[1] if rule else ()):
            if dependency in visited and not visited[dependency]:
                visit(dependency)
        stack.insert(0, name)

    for name in names:
        if not visited[name]:
            visit(name)
    return list(reversed(stack))


def validate(raw):
    """SageMaker's string values -> typed values for xgb.train, or a UserError that says what is wrong."""
    given = {}
    for name, value in raw.items():  # 1. aliases (a later spelling of the same name wins)
        given[ALIASES.get(name, name)] = value
    for name, hp in HYPERPARAMETERS.items():  # 2. required
        if hp.required and name not in given:
            raise UserError(f"Missing required hyperparameter: {name}")
    parsed = {}
    for name, value in given.items():  # 3. known names, parsed
        # Raised while the lookup's KeyError (or the parser's ValueError) is handled, as in the real
        # toolkit: the failure file's traceback then shows both exceptions.
        try:
            hp = HYPERPARAMETERS[name]
        except KeyError:
            raise UserError(f"Extraneous hyperparameter found: {name}")
        try:
            parsed[name] = hp.parse(value)
        except ValueError as err:
            raise UserError(f"Hyperparameter {name}: could not parse value", caused_by=err)
    for name, value in parsed.items():  # 4. ranges
        try:
            HYPERPARAMETERS[name].check_range(value)
        except UserError:
            raise
        except Exception as err:  # noqa: BLE001 - the real toolkit reports these as its own failure
            raise AlgorithmError(f"Hyperparameter {name}: unexpected failure when validating {value}",
                                 caused_by=err)
    validated = {}
    for name in dependency_order(list(parsed)):  # 5. rules between hyperparameters
        rule = HYPERPARAMETERS[name].rule
        if rule:
            check, needs = rule
            check(parsed[name], {dep: validated[dep] for dep in needs if dep in validated})
        validated[name] = parsed[name]
    return validated
