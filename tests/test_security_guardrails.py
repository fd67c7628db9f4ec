"""Lab 06 guard rails: the IAM evaluator, the request-to-context mapping, the evaluation table, a
cross-check of every verdict with an independent engine, and parliament's lint of the policies.

Two test-time tools are installed by fixtures into build/tools/ (never vendored):
- @cloud-copilot/iam-simulate (npm, AGPL-3.0-or-later), pinned in tests/tools/iam-simulate;
- parliament 1.6.4 in its own virtual environment (it needs pkg_resources, gone from setuptools 81+).
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from smworkshop.paths import BUILD, LABS, REPO

LAB = LABS / "06_security"
if str(LAB) not in sys.path:
    sys.path.insert(0, str(LAB))

from guardrails import (ALLOW, CASES, EXPLICIT_DENY, IMPLICIT_DENY, Request, UnsupportedPolicy,  # noqa: E402
                        conditions_match, context_for, customise, evaluate, load, resource_arn, setups)
from guardrails import policies, request_context, requests  # noqa: E402

POLICY_FILES = [policies.IDENTITY_FILE, policies.SCP_FILE, policies.FULL_ACCESS_FILE]
SETUPS = setups()

DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
EVALUATION_LOGIC = DOCS + "reference_policies_evaluation-logic.html"
CONDITION_OPERATORS = DOCS + "reference_policies_elements_condition_operators.html"
MULTIPLE_VALUES = DOCS + "reference_policies_multi-value-conditions.html"
SET_OPERATORS = DOCS + "reference_policies_condition-single-vs-multi-valued-context-keys.html"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def statement(effect="Allow", action="s3:GetObject", resource="*", condition=None, sid=None):
    result = {"Effect": effect, "Action": action, "Resource": resource}
    if condition:
        result["Condition"] = condition
    if sid:
        result["Sid"] = sid
    return result


GET = Request("s3:GetObject", "arn:aws:s3:::lab06-bucket/data.csv")


# ------------------------------------------------------------------------------------------------
# The evaluator, against the documented logic

def test_explicit_deny_overrides_an_allow():
    """An explicit deny in any policy overrides any allow (EVALUATION_LOGIC)."""
    decision = evaluate(GET, {"p": policy(statement(sid="Yes"), statement("Deny", sid="No"))})
    assert (decision.verdict, decision.sid, decision.policy) == (EXPLICIT_DENY, "No", "p")


def test_without_an_allow_the_request_is_implicitly_denied():
    """By default every request is denied; an empty policy denies implicitly (EVALUATION_LOGIC)."""
    assert evaluate(GET, {"p": policy(statement(action="s3:PutObject"))}).verdict == IMPLICIT_DENY
    assert evaluate(GET, {}).verdict == IMPLICIT_DENY


def test_an_allow_decides_when_nothing_denies():
    decision = evaluate(GET, {"p": policy(statement(sid="Read"))})
    assert (decision.verdict, decision.sid) == (ALLOW, "Read")


def test_scps_grant_nothing_they_must_allow_too():
    """An SCP only sets the ceiling: a Deny-only SCP without FullAWSAccess beside it denies everything
    implicitly, even what the identity policy allows (EVALUATION_LOGIC, "AWS Organizations SCPs")."""
    identity = {"p": policy(statement())}
    guardrail = {"g": policy(statement("Deny", action="s3:DeleteObject"))}
    assert evaluate(GET, identity, [guardrail]).verdict == IMPLICIT_DENY
    with_full_access = [{"FullAWSAccess": load(policies.FULL_ACCESS_FILE)} | guardrail]
    assert evaluate(GET, identity, with_full_access).verdict == ALLOW
    assert evaluate(GET, {}, with_full_access).verdict == IMPLICIT_DENY  # the SCP alone grants nothing


def test_every_level_of_the_organization_must_allow():
    """Root, OU and account each need an Allow; one level without it is enough to deny."""
    full = {"FullAWSAccess": load(policies.FULL_ACCESS_FILE)}
    only_ec2 = {"OnlyEc2": policy(statement(action="ec2:*"))}
    assert evaluate(GET, {"p": policy(statement())}, [full, full]).verdict == ALLOW
    assert evaluate(GET, {"p": policy(statement())}, [full, only_ec2]).verdict == IMPLICIT_DENY


def test_an_scp_deny_beats_the_identity_allow():
    full = {"FullAWSAccess": load(policies.FULL_ACCESS_FILE)}
    deny = {"g": policy(statement("Deny", sid="NoReads"))}
    decision = evaluate(GET, {"p": policy(statement())}, [full | deny])
    assert (decision.verdict, decision.sid, decision.policy) == (EXPLICIT_DENY, "NoReads", "g")


@pytest.mark.parametrize("pattern, matches", [
    ("s3:GetObject", True), ("S3:getobject", True), ("s3:Get*", True), ("s3:?etObject", True),
    ("s3:*", True), ("*", True), ("s3:Put*", False), ("ec2:GetObject", False),
])
def test_action_wildcards_ignore_case(pattern, matches):
    """Action names are case-insensitive and take * and ? (DOCS reference_policies_elements_action.html)."""
    assert evaluate(GET, {"p": policy(statement(action=pattern))}).allowed is matches


def test_not_action_applies_to_every_other_action():
    """NotAction with Allow grants everything except the listed actions
    (DOCS reference_policies_elements_notaction.html)."""
    allow_all_but_put = {"p": policy({"Effect": "Allow", "NotAction": "s3:Put*", "Resource": "*"})}
    assert evaluate(GET, allow_all_but_put).verdict == ALLOW
    assert evaluate(Request("s3:PutObject", GET.resource), allow_all_but_put).verdict == IMPLICIT_DENY


@pytest.mark.parametrize("pattern, matches", [
    ("arn:aws:s3:::lab06-bucket/*", True), ("arn:aws:s3:::lab06-*/data.???", True), ("*", True),
    ("arn:aws:s3:::LAB06-bucket/*", False), ("arn:aws:s3:::other-bucket/*", False),
])
def test_resource_wildcards_are_case_sensitive(pattern, matches):
    """Resource ARNs match with * and ?, case-sensitively (DOCS reference_policies_elements_resource.html)."""
    assert evaluate(GET, {"p": policy(statement(resource=pattern))}).allowed is matches


def test_not_resource():
    everything_but_secrets = {"p": policy({"Effect": "Allow", "Action": "s3:*",
                                           "NotResource": "arn:aws:s3:::secrets/*"})}
    assert evaluate(GET, everything_but_secrets).verdict == ALLOW
    assert evaluate(Request("s3:GetObject", "arn:aws:s3:::secrets/k"), everything_but_secrets).verdict == IMPLICIT_DENY


KEY = "aws:PrincipalTag/team"
ARN = "arn:aws:kms:us-east-1:111122223333:key/abcd"


@pytest.mark.parametrize("operator, policy_values, request_value, expected", [
    ("StringEquals", "ml", "ml", True),
    ("StringEquals", "ml", "ML", False),  # case-sensitive
    ("StringEquals", ["ml", "data"], "data", True),  # values are ORed
    ("StringNotEquals", "ml", "data", True),
    ("StringNotEquals", ["ml", "data"], "data", False),  # negated: matches none of them (NOR)
    ("StringEqualsIgnoreCase", "ml", "ML", True),
    ("StringNotEqualsIgnoreCase", "ml", "ML", False),
    ("StringLike", "m?-*", "ml-team", True),
    ("StringLike", "m*", "data", False),
    ("StringNotLike", "m*", "data", True),
    ("Bool", "true", "true", True),
    ("Bool", "false", "true", False),
    ("Bool", True, "TRUE", True),  # JSON true in a policy is the string "true"
    ("ArnEquals", ARN, ARN, True),
    ("ArnEquals", "arn:aws:kms:*:111122223333:key/*", ARN, True),  # ArnEquals takes wildcards as well
    ("ArnLike", "arn:aws:kms:us-east-1:*:key/*", ARN, True),
    ("ArnLike", "arn:aws:kms:*:444455556666:key/*", ARN, False),
    ("ArnNotEquals", "arn:aws:kms:us-east-1:111122223333:key/other", ARN, True),
    ("ArnNotLike", "arn:aws:kms:*:111122223333:*", ARN, False),
])
def test_condition_operators(operator, policy_values, request_value, expected):
    """One key, one request value (CONDITION_OPERATORS; values of one key are ORed and, for a
    negated operator, NORed: MULTIPLE_VALUES)."""
    assert conditions_match({operator: {KEY: policy_values}}, {KEY: request_value}) is expected


@pytest.mark.parametrize("operator, expected", [
    ("StringEquals", False), ("StringLike", False), ("Bool", False), ("ArnLike", False),
    ("StringNotEquals", True), ("StringNotLike", True), ("ArnNotEquals", True),
    ("StringEqualsIfExists", True), ("BoolIfExists", True), ("StringNotEqualsIfExists", True),
])
def test_absent_key(operator, expected):
    """An absent key does not match, except that negated operators then match, and ...IfExists
    matches when there is nothing to check (CONDITION_OPERATORS, the note at the top and ...IfExists)."""
    value = "true" if operator.startswith("Bool") else ARN if operator.startswith("Arn") else "ml"
    assert conditions_match({operator: {KEY: value}}, {}) is expected


def test_if_exists_checks_a_present_key_normally():
    assert conditions_match({"StringEqualsIfExists": {KEY: "ml"}}, {KEY: "ml"})
    assert not conditions_match({"StringEqualsIfExists": {KEY: "ml"}}, {KEY: "data"})
    assert conditions_match({"BoolIfExists": {"sagemaker:NetworkIsolation": "false"}},
                            {"sagemaker:NetworkIsolation": "false"})
    assert not conditions_match({"BoolIfExists": {"sagemaker:NetworkIsolation": "false"}},
                                {"sagemaker:NetworkIsolation": "true"})


@pytest.mark.parametrize("policy_value, context, expected", [
    ("true", {}, True), ("true", {KEY: "ml"}, False),
    ("false", {}, False), ("false", {KEY: "ml"}, True),
])
def test_null(policy_value, context, expected):
    """Null "true" matches an absent key; "false" a present one (CONDITION_OPERATORS, Null)."""
    assert conditions_match({"Null": {KEY: policy_value}}, context) is expected


SUBNETS = "sagemaker:VpcSubnets"


@pytest.mark.parametrize("operator, request_values, expected", [
    ("ForAllValues:StringEquals", ["subnet-a", "subnet-b"], True),  # a subset of the policy's list
    ("ForAllValues:StringEquals", ["subnet-a", "subnet-x"], False),
    ("ForAllValues:StringEquals", None, True),  # absent: "all of nothing" is true
    ("ForAnyValue:StringEquals", ["subnet-x", "subnet-b"], True),
    ("ForAnyValue:StringEquals", ["subnet-x"], False),
    ("ForAnyValue:StringEquals", None, False),  # absent: "any of nothing" is false
    ("ForAnyValue:StringNotEquals", ["subnet-a", "subnet-x"], True),  # one value outside the list
    ("ForAnyValue:StringNotEquals", ["subnet-a", "subnet-b"], False),
    ("ForAnyValue:StringNotEquals", None, False),
    ("ForAllValues:StringNotEquals", ["subnet-x", "subnet-y"], True),  # none of them in the list
    ("ForAllValues:StringNotEquals", ["subnet-a", "subnet-y"], False),
    ("ForAnyValue:StringLike", ["subnet-x", "subnet-b"], True),
    ("ForAnyValue:StringEqualsIfExists", None, True),
])
def test_set_operators_on_a_multivalued_key(operator, request_values, expected):
    """ForAllValues: every request value matches one of the policy's; true when the key is absent.
    ForAnyValue: at least one does; false when absent (SET_OPERATORS)."""
    context = {} if request_values is None else {SUBNETS: request_values}
    values = ["subnet-?"] if "Like" in operator else ["subnet-a", "subnet-b"]
    assert conditions_match({operator: {SUBNETS: values}}, context) is expected


def test_keys_and_operators_in_one_condition_are_anded():
    """Several keys under one operator, and several operators, are ANDed (MULTIPLE_VALUES)."""
    both = {"StringEquals": {"sagemaker:RootAccess": "Disabled", "sagemaker:DirectInternetAccess": "Disabled"}}
    assert conditions_match(both, {"sagemaker:RootAccess": "Disabled", "sagemaker:DirectInternetAccess": "Disabled"})
    assert not conditions_match(both, {"sagemaker:RootAccess": "Disabled", "sagemaker:DirectInternetAccess": "Enabled"})
    two_operators = {"StringEquals": {KEY: "ml"}, "Null": {SUBNETS: "false"}}
    assert conditions_match(two_operators, {KEY: "ml", SUBNETS: ["subnet-a"]})
    assert not conditions_match(two_operators, {KEY: "ml"})


def test_two_null_keys_in_one_block_deny_only_when_both_are_missing():
    """Why the guard rails keep one statement per missing key: in one block they are ANDed."""
    combined = {"Null": {"sagemaker:VpcSubnets": "true", "sagemaker:VpcSecurityGroupIds": "true"}}
    assert conditions_match(combined, {})
    assert not conditions_match(combined, {"sagemaker:VpcSecurityGroupIds": ["sg-1"]})


def test_condition_key_names_ignore_case():
    assert conditions_match({"StringEquals": {"SageMaker:RootAccess": "Disabled"}},
                            {"sagemaker:rootaccess": "Disabled"})


def test_what_is_not_implemented_is_refused():
    with pytest.raises(UnsupportedPolicy):
        conditions_match({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"})
    with pytest.raises(UnsupportedPolicy):  # a multivalued key needs ForAllValues:/ForAnyValue:
        conditions_match({"StringEquals": {SUBNETS: "subnet-a"}}, {SUBNETS: ["subnet-a", "subnet-b"]})
    with pytest.raises(UnsupportedPolicy):
        evaluate(GET, {"bucket": policy(statement() | {"Principal": "*"})})


# ------------------------------------------------------------------------------------------------
# The request -> request context mapping

def test_a_training_job_maps_to_its_condition_keys():
    assert context_for("sagemaker:CreateTrainingJob", requests.TRAINING) == {
        "sagemaker:VpcSubnets": policies.APPROVED_SUBNETS,
        "sagemaker:VpcSecurityGroupIds": policies.APPROVED_SECURITY_GROUPS,
        "sagemaker:VolumeKmsKeyArn": policies.WORKSHOP_KMS_KEY,
        "sagemaker:OutputKmsKeyArn": policies.WORKSHOP_KMS_KEY,
        "sagemaker:NetworkIsolation": "true",
        "sagemaker:InterContainerTrafficEncryption": "true",
    }


def test_absent_fields_give_absent_keys():
    bare = {"TrainingJobName": "t", "RoleArn": policies.EXECUTION_ROLE,
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "OutputDataConfig": {"S3OutputPath": "s3://b/o"}}
    assert context_for("sagemaker:CreateTrainingJob", bare) == {}
    false_is_not_absent = context_for("sagemaker:CreateTrainingJob", bare | {"EnableNetworkIsolation": False})
    assert false_is_not_absent == {"sagemaker:NetworkIsolation": "false"}


def test_other_actions_map_their_own_fields():
    assert context_for("sagemaker:CreateHyperParameterTuningJob", requests.TUNING) == \
        context_for("sagemaker:CreateTrainingJob", requests.TRAINING)
    processing = context_for("sagemaker:CreateProcessingJob",
                             requests.changed(requests.PROCESSING, {"NetworkConfig.EnableNetworkIsolation": True}))
    assert processing["sagemaker:NetworkIsolation"] == "true"
    assert processing["sagemaker:VolumeKmsKeyArn"] == processing["sagemaker:OutputKmsKeyArn"]
    notebook = context_for("sagemaker:CreateNotebookInstance", requests.NOTEBOOK)
    assert notebook["sagemaker:VpcSubnets"] == [policies.APPROVED_SUBNETS[0]]  # one subnet, still a list
    assert (notebook["sagemaker:RootAccess"], notebook["sagemaker:DirectInternetAccess"]) == ("Disabled", "Disabled")
    assert context_for("sagemaker:CreateModel", requests.MODEL) == {
        "sagemaker:VpcSubnets": policies.APPROVED_SUBNETS,
        "sagemaker:VpcSecurityGroupIds": policies.APPROVED_SECURITY_GROUPS,
        "sagemaker:NetworkIsolation": "true"}
    assert context_for("sagemaker:CreateEndpointConfig", requests.ENDPOINT_CONFIG) == {
        "sagemaker:VolumeKmsKeyArn": policies.WORKSHOP_KMS_KEY}
    assert context_for("sagemaker:CreateDomain", requests.DOMAIN) == {
        "sagemaker:VpcSubnets": policies.APPROVED_SUBNETS,
        "sagemaker:VpcSecurityGroupIds": policies.APPROVED_SECURITY_GROUPS,
        "sagemaker:VolumeKmsKeyArn": policies.WORKSHOP_KMS_KEY,
        "sagemaker:AppNetworkAccessType": "VpcOnly"}
    assert context_for("sagemaker:CreateUserProfile", requests.USER_PROFILE) == {}
    assert context_for("sagemaker:CreateEndpoint", requests.ENDPOINT) == {}


def test_unmodelled_requests_are_refused():
    with pytest.raises(KeyError):
        context_for("sagemaker:CreateTransformJob", {})
    with pytest.raises(ValueError):
        context_for("sagemaker:CreateHyperParameterTuningJob", {"TrainingJobDefinitions": []})


def test_resource_arns():
    assert resource_arn("sagemaker:CreateTrainingJob", requests.TRAINING, "us-east-1", "111122223333") == \
        "arn:aws:sagemaker:us-east-1:111122223333:training-job/lab06-train"
    assert resource_arn("sagemaker:CreateUserProfile", requests.USER_PROFILE, "us-east-1", "111122223333") == \
        "arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-lab06studio01/learner-1"


# ------------------------------------------------------------------------------------------------
# The policies and the evaluation table

def test_policies_hold_the_example_values_and_unique_sids():
    identity, scp = load(policies.IDENTITY_FILE), load(policies.SCP_FILE)
    text = json.dumps(identity)
    for value in [*policies.APPROVED_SUBNETS, *policies.APPROVED_SECURITY_GROUPS, policies.WORKSHOP_KMS_KEY,
                  policies.EXECUTION_ROLE, f"arn:aws:sagemaker:{policies.REGION}:{policies.ACCOUNT}:*"]:
        assert value in text
    sids = [s["Sid"] for doc in (identity, scp) for s in doc["Statement"]]
    assert len(sids) == len(set(sids))
    assert all(s["Effect"] == "Deny" for s in scp["Statement"])  # an SCP of guard rails only takes away


def test_policies_fit_the_size_limits():
    """SCPs: at most 5,120 characters; managed policies: 6,144 characters, white space not counted
    (DOCS reference_iam-quotas.html; Organizations quotas, orgs_reference_limits.html)."""
    scp_text = (policies.POLICY_DIR / policies.SCP_FILE).read_text()
    assert len(json.dumps(json.loads(scp_text), separators=(",", ":"))) <= 5120
    identity_text = (policies.POLICY_DIR / policies.IDENTITY_FILE).read_text()
    assert len("".join(identity_text.split())) <= 6144


def test_customise_swaps_in_real_values():
    real = customise(load(policies.IDENTITY_FILE), {policies.ACCOUNT: "999988887777",
                                                    policies.APPROVED_SUBNETS[0]: "subnet-real"})
    text = json.dumps(real)
    assert policies.ACCOUNT not in text and "999988887777" in text and "subnet-real" in text


def _sids(setup):
    identity, scps = SETUPS[setup]
    docs = list(identity.values()) + [doc for level in scps or [] for doc in level.values()]
    return {s.get("Sid") for doc in docs for s in doc["Statement"]}


@pytest.mark.parametrize("setup", list(SETUPS))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_request_table(case, setup):
    identity, scps = SETUPS[setup]
    decision = evaluate(case.to_request(), identity, scps)
    assert decision.verdict == case.expect[setup], f"{case.why}; evaluator says: {decision.reason}"
    assert {sid for _, sid in decision.denied_by} == case.denied_by & _sids(setup)


def test_the_table_is_the_promised_shape():
    assert len(CASES) == len({c.name for c in CASES})
    assert any(all(v == ALLOW for v in c.expect.values()) for c in CASES)
    every_deny = {s["Sid"] for f in (policies.IDENTITY_FILE, policies.SCP_FILE)
                  for s in load(f)["Statement"] if s["Effect"] == "Deny"}
    exercised = set().union(*(c.denied_by for c in CASES))
    assert every_deny == exercised, "every guard rail is shown denying at least one request"


def test_table_for_the_notebook():
    from guardrails import table

    rows = table()
    assert len(rows) == len(CASES)
    assert rows[1]["request"] == "training: no VpcConfig" and rows[1]["both"] == EXPLICIT_DENY
    assert rows[1]["both (Sid)"] in CASES[1].denied_by


# Fields whose absence the API fills with a default. Whether SageMaker puts the default in the request
# context is not documented; the policies must give the same verdict either way. (Not for updates:
# there an absent field means "unchanged".)
API_DEFAULTS = {
    "EnableNetworkIsolation": False, "EnableInterContainerTrafficEncryption": False,
    "RootAccess": "Enabled", "DirectInternetAccess": "Enabled", "AppNetworkAccessType": "PublicInternetOnly",
}


def _defaults_left_out(case):
    """{dotted path: API default} for the mapped fields this request leaves out."""
    if not case.request or case.action.startswith("sagemaker:Update"):
        return {}
    found = {}
    for path in request_context.FIELD_TO_KEY[case.action]:
        *parents, last = path.split(".")
        parent = case.request
        for part in parents:
            parent = parent.get(part, {}) if isinstance(parent, dict) else {}
        if last in API_DEFAULTS and last not in parent and (not parents or parent):
            found[path] = API_DEFAULTS[last]
    return found


@pytest.mark.parametrize("case", [c for c in CASES if _defaults_left_out(c)], ids=lambda c: c.name)
def test_absent_and_api_default_get_the_same_verdict(case):
    filled = Request(case.action, case.to_request().resource,
                     context_for(case.action, requests.changed(case.request, _defaults_left_out(case))))
    assert filled.context != case.to_request().context
    for identity, scps in SETUPS.values():
        assert evaluate(filled, identity, scps).verdict == evaluate(case.to_request(), identity, scps).verdict


# ------------------------------------------------------------------------------------------------
# Cross-check with an independent engine: @cloud-copilot/iam-simulate, installed at test time

IAM_SIMULATE_SOURCE = REPO / "tests" / "tools" / "iam-simulate"
TOOLS = BUILD / "tools"
VERDICT_NAMES = {"Allowed": ALLOW, "ExplicitlyDenied": EXPLICIT_DENY, "ImplicitlyDenied": IMPLICIT_DENY}


def _ensure_node_and_npm():
    missing = [tool for tool in ("node", "npm") if not shutil.which(tool)]
    if missing and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "nodejs", "npm"]):
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode:
                pytest.fail(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}", pytrace=False)
        missing = [tool for tool in ("node", "npm") if not shutil.which(tool)]
    if missing:
        pytest.fail(f"the iam-simulate cross-check needs {' and '.join(missing)}: install Node.js and npm "
                    "(Debian/Ubuntu: apt-get install nodejs npm; run the tests as root to let them do it)",
                    pytrace=False)


@pytest.fixture(scope="session")
def iam_simulate():
    """Install the pinned iam-simulate into build/tools/iam-simulate (once; again when the lock file
    changes) and return a function that runs simulations through tests/tools/iam-simulate/simulate.mjs."""
    _ensure_node_and_npm()
    target = TOOLS / "iam-simulate"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json", "simulate.mjs"):
        shutil.copyfile(IAM_SIMULATE_SOURCE / name, target / name)
    stamp, lock = target / "installed-lock.json", (target / "package-lock.json").read_text()
    if not (target / "node_modules").is_dir() or not stamp.exists() or stamp.read_text() != lock:
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=target, capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"npm ci in {target} failed:\n{done.stderr[-3000:]}", pytrace=False)
        stamp.write_text(lock)

    def run(named_policies, simulations):
        payload = {"policies": named_policies, "principal": policies.DATA_SCIENTIST, "simulations": simulations}
        done = subprocess.run(["node", "simulate.mjs"], cwd=target, input=json.dumps(payload),
                              capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"simulate.mjs failed:\n{done.stderr[-3000:]}", pytrace=False)
        return {result["id"]: result for result in json.loads(done.stdout)}

    run.data = target / "node_modules" / "@cloud-copilot" / "iam-data" / "data"
    return run


def _simulation(sim_id, request, identity, scps):
    return {"id": sim_id, "action": request.action, "resource": request.resource, "context": request.context,
            "identity": list(identity), "scps": [list(level) for level in scps] if scps else None}


@pytest.fixture(scope="session")
def cross_check(iam_simulate):
    """Every case of the table in every setup, through both engines; written to build/results."""
    named, simulations, ours = {}, [], {}
    for case in CASES:
        request = case.to_request()
        for setup, (identity, scps) in SETUPS.items():
            named |= identity
            for level in scps or []:
                named |= level
            sim_id = f"{case.name} | {setup}"
            simulations.append(_simulation(sim_id, request, identity, scps))
            ours[sim_id] = evaluate(request, identity, scps)
    theirs = iam_simulate(named, simulations)
    record = []
    for sim_id, decision in ours.items():
        other = theirs[sim_id]
        record.append({
            "request": sim_id, "ours": decision.verdict, "ours_denied_by": sorted(s for _, s in decision.denied_by),
            "iam_simulate": VERDICT_NAMES.get(other.get("verdict"), other.get("error")),
            "iam_simulate_denied_by": sorted(other.get("explicitDenies", [])),
            "iam_simulate_ignored_keys": other.get("ignoredContextKeys"),
        })
    for row in record:
        row["agree"] = (row["ours"] == row["iam_simulate"] and row["ours_denied_by"] == row["iam_simulate_denied_by"]
                        and row["iam_simulate_ignored_keys"] == [])
    results = BUILD / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "lab06_guardrails_crosscheck.json").write_text(json.dumps(record, indent=1))
    return {row["request"]: row for row in record}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_iam_simulate_agrees(case, cross_check):
    """Same verdict, same denying statements, and no context key that iam-simulate drops as not
    applying to the action (it checks keys against the Service Authorization Reference)."""
    for setup in SETUPS:
        row = cross_check[f"{case.name} | {setup}"]
        assert row["agree"], json.dumps(row, indent=1)


def test_every_verdict_was_cross_checked(cross_check):
    assert len(cross_check) == len(CASES) * len(SETUPS)
    assert sum(row["agree"] for row in cross_check.values()) == len(cross_check)


def test_known_difference_arn_operator_on_a_value_that_is_not_an_arn(iam_simulate):
    """Not documented by AWS: how ArnNotEquals treats a request value that is not an ARN (a KMS alias).
    Our evaluator: "not equal", so a Deny matches. iam-simulate: an invalid ARN matches neither ArnEquals
    nor ArnNotEquals, so the Deny does not. The guard rails avoid the question with StringNotEquals on the
    exact key ARN (see the "volume key given as an alias" case). If this test fails, iam-simulate changed:
    revisit the note in labs/06_security/policies/README.md."""
    deny = policy(statement(action="sagemaker:CreateTrainingJob", resource="*"),
                  statement("Deny", "sagemaker:CreateTrainingJob", "*",
                            {"ArnNotEquals": {"sagemaker:VolumeKmsKeyArn": policies.WORKSHOP_KMS_KEY}}, sid="D"))
    request = Request("sagemaker:CreateTrainingJob", "arn:aws:sagemaker:us-east-1:111122223333:training-job/t",
                      {"sagemaker:VolumeKmsKeyArn": "alias/workshop"})
    theirs = iam_simulate({"probe": deny}, [_simulation("probe", request, {"probe": deny}, None)])["probe"]
    assert evaluate(request, {"probe": deny}).verdict == EXPLICIT_DENY
    assert theirs["verdict"] == "Allowed"


def _action_table(data_dir, service):
    return json.loads((data_dir / "actions" / f"{service}.json").read_text())


def _keys_of(table, action):
    service, name = action.split(":")
    return {key.lower() for key in table[name.lower()].get("conditionKeys", [])}


def test_condition_keys_are_supported_by_their_actions(iam_simulate):
    """Each (action, condition key) in the policies and in the mapping is listed in the Service
    Authorization Reference, as packaged by iam-data (the data iam-simulate validates against):
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html"""
    tables = {service: _action_table(iam_simulate.data, service) for service in ("sagemaker", "iam")}
    unsupported = []
    for file_name in (policies.IDENTITY_FILE, policies.SCP_FILE):
        for stmt in load(file_name)["Statement"]:
            keys = {key for block in stmt.get("Condition", {}).values() for key in block}
            for action in [stmt["Action"]] if isinstance(stmt["Action"], str) else stmt["Action"]:
                unsupported += [(stmt["Sid"], action, key) for key in keys
                                if key.lower() not in _keys_of(tables[action.split(":")[0]], action)]
    for action, fields in request_context.FIELD_TO_KEY.items():
        unsupported += [("mapping", action, key) for key in fields.values()
                        if key.lower() not in _keys_of(tables["sagemaker"], action)]
    assert unsupported == []


def test_deprecated_kms_keys_are_on_no_action(iam_simulate):
    """Why the policies use ...KmsKeyArn: the short names are attached to no action any more."""
    table = _action_table(iam_simulate.data, "sagemaker")
    for old in ("sagemaker:volumekmskey", "sagemaker:outputkmskey"):
        assert not any(old in {k.lower() for k in entry.get("conditionKeys", [])} for entry in table.values())


# ------------------------------------------------------------------------------------------------
# parliament, in its own virtual environment under build/tools

PARLIAMENT_PINS = [
    "parliament==1.6.4", "json-cfg==0.4.2", "kwonly-args==1.0.10",
    # parliament imports pkg_resources: setuptools 81+ no longer ships it (requirements.lock has 84.2.1).
    "setuptools==80.9.0",
    # the rest as in requirements.lock
    "boto3==1.44.5", "botocore==1.44.5", "jmespath==1.1.0", "PyYAML==6.0.3", "s3transfer==0.19.3",
    "python-dateutil==2.9.0.post0", "six==1.17.0", "urllib3==2.8.0",
]
LINT = LAB / "guardrails" / "lint.py"
ALLOWLIST = policies.POLICY_DIR / "parliament-allowlist.json"


@pytest.fixture(scope="session")
def parliament():
    venv = TOOLS / "parliament"
    python, stamp, wanted = venv / "bin" / "python", venv / "installed.txt", "\n".join(PARLIAMENT_PINS)
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               *PARLIAMENT_PINS], capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"installing parliament into {venv} failed:\n{done.stderr[-3000:]}", pytrace=False)
        stamp.write_text(wanted)

    def lint(*paths):
        done = subprocess.run([str(python), str(LINT), *map(str, paths)], capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"lint.py failed:\n{done.stderr[-3000:]}", pytrace=False)
        return json.loads(done.stdout)

    return lint


def test_parliament_findings_are_all_explained(parliament):
    findings = parliament(*(policies.POLICY_DIR / name for name in POLICY_FILES))
    allowed = json.loads(ALLOWLIST.read_text())["allow"]

    def explained(finding):
        return [entry for entry in allowed
                if entry["issue"] == finding["issue"] and f"{entry['condition_key']} " in finding["detail"] + " "]

    assert [f for f in findings if not explained(f)] == []
    used = {entry["condition_key"] for f in findings for entry in explained(f)}
    assert used == {entry["condition_key"] for entry in allowed}, "drop allow-list entries parliament no longer needs"


def test_parliament_is_really_looking(parliament, tmp_path):
    """A linter that finds nothing must be able to find something: a misspelt action."""
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps(policy(statement(action="sagemaker:CreateTrainingJobs"))))
    assert [f["issue"] for f in parliament(typo)] == ["UNKNOWN_ACTION"]
