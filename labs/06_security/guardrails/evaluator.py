"""A small IAM policy evaluator, written to show how AWS decides, not to replace it.

It follows the documented evaluation logic for a request made inside one account:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html

1. An explicit Deny in any policy (service control policies or identity policies) decides: denied.
2. Every level of service control policies (SCPs) must have a matching Allow, or the request is
   implicitly denied: an SCP grants nothing, it only sets the ceiling.
3. An identity policy must have a matching Allow; otherwise the request is implicitly denied.

A request is an action, a resource ARN and a request context (condition key -> value, a list for
multivalued keys such as sagemaker:VpcSubnets). Keys that are not in the context are absent, which
is different from empty: most operators then do not match, negated ones do, and Null tells them apart.

Supported: Effect, Action/NotAction, Resource/NotResource, and the String*, Arn*, Bool and Null
condition operators with the ...IfExists suffix and the ForAllValues:/ForAnyValue: prefixes.
Not supported (and refused loudly rather than guessed): Numeric*, Date*, IpAddress, Binary,
policy variables, Principal (resource-based policies), permission boundaries and session policies.
"""
import re
from dataclasses import dataclass, field

ALLOW = "Allow"
EXPLICIT_DENY = "ExplicitDeny"
IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    action: str  # "sagemaker:CreateTrainingJob"
    resource: str  # the ARN the action is performed on
    context: dict = field(default_factory=dict)  # condition key -> str or list of str; absent = not there


@dataclass(frozen=True)
class Decision:
    verdict: str  # ALLOW, EXPLICIT_DENY or IMPLICIT_DENY
    policy: str | None  # name of the policy holding the deciding statement (None: nothing matched)
    sid: str | None  # the deciding statement's Sid
    denied_by: tuple = ()  # every (policy, Sid) with a matching Deny: all of them apply, one is enough
    reason: str = ""

    @property
    def allowed(self):
        return self.verdict == ALLOW


class UnsupportedPolicy(ValueError):
    """The policy uses something this teaching evaluator does not implement."""


# ---------------------------------------------------------------------------------------------
# Matching actions and resources: both use * (any run of characters) and ? (one character).
# Actions are case-insensitive; ARNs in the Resource element are case-sensitive.

def _wildcard(pattern, ignore_case=False):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def action_matches(statement, action):
    if "Action" in statement:
        return any(_wildcard(p, ignore_case=True).fullmatch(action) for p in _as_list(statement["Action"]))
    # NotAction: the statement applies to every action except the listed ones.
    return not any(_wildcard(p, ignore_case=True).fullmatch(action) for p in _as_list(statement["NotAction"]))


def resource_matches(statement, resource):
    if "Resource" in statement:
        return any(_wildcard(p).fullmatch(resource) for p in _as_list(statement["Resource"]))
    return not any(_wildcard(p).fullmatch(resource) for p in _as_list(statement["NotResource"]))


# ---------------------------------------------------------------------------------------------
# Condition operators. Each base operator compares ONE request value with ONE policy value.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

def _policy_text(value):
    # JSON true/false in a policy means the strings "true"/"false".
    return str(value).lower() if isinstance(value, bool) else str(value)


def _arn_like(request_value, pattern):
    # ARNs are compared part by part (arn:partition:service:region:account:resource), so a * in the
    # region cannot swallow the account. A value that is not an ARN never matches.
    got, want = request_value.split(":", 5), pattern.split(":", 5)
    if len(got) != 6 or len(want) != 6:
        return False
    return all(_wildcard(w).fullmatch(g) for g, w in zip(got, want))


_BASE_OPERATORS = {
    # name: (compare(request_value, policy_value) -> bool, negated)
    "StringEquals": (lambda r, p: r == p, False),
    "StringNotEquals": (lambda r, p: r == p, True),
    "StringEqualsIgnoreCase": (lambda r, p: r.lower() == p.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda r, p: r.lower() == p.lower(), True),
    "StringLike": (lambda r, p: bool(_wildcard(p).fullmatch(r)), False),
    "StringNotLike": (lambda r, p: bool(_wildcard(p).fullmatch(r)), True),
    "ArnEquals": (_arn_like, False),  # ArnEquals also accepts wildcards, like ArnLike
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (lambda r, p: r.lower() == p.lower(), False),
}


def _one_value_matches(base, request_value, policy_values):
    """One request value against the policy's list: values are ORed; for a negated operator
    the result is "matches none of them" (NOR)."""
    compare, negated = _BASE_OPERATORS[base]
    hit = any(compare(_policy_text(request_value), _policy_text(p)) for p in policy_values)
    return not hit if negated else hit


def parse_operator(name):
    """'ForAnyValue:StringNotEqualsIfExists' -> ('ForAnyValue', 'StringNotEquals', True)."""
    qualifier, _, base = name.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedPolicy(f"unknown set operator {qualifier!r} in {name!r}")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    if base != "Null" and base not in _BASE_OPERATORS:
        raise UnsupportedPolicy(f"condition operator {name!r} is not implemented here")
    return qualifier, base, if_exists


def condition_entry_matches(operator, key, policy_values, context):
    """One operator, one key: does the request context satisfy it?"""
    qualifier, base, if_exists = parse_operator(operator)
    policy_values = _as_list(policy_values)
    present = key in context and context[key] != []

    if base == "Null":
        # Null: "true" asks "is the key absent?", "false" asks "is it present?".
        return any(_policy_text(p) == ("false" if present else "true") for p in policy_values)
    if not present:
        if if_exists:
            return True  # ...IfExists: no key, nothing to check
        if qualifier == "ForAllValues":
            return True  # "all of no values" is true: why a Null check often goes with it
        if qualifier == "ForAnyValue":
            return False  # "any of no values" is false
        return _BASE_OPERATORS[base][1]  # absent key: negated operators match, the others do not

    values = _as_list(context[key])
    if qualifier == "ForAllValues":
        return all(_one_value_matches(base, v, policy_values) for v in values)
    if qualifier == "ForAnyValue":
        return any(_one_value_matches(base, v, policy_values) for v in values)
    if len(values) > 1:
        raise UnsupportedPolicy(f"{key} has several values: use ForAllValues: or ForAnyValue: with {operator}")
    return _one_value_matches(base, values[0], policy_values)


def conditions_match(condition, context):
    """A Condition block: operators are ANDed, and so are the keys under one operator."""
    context = {k.lower(): v for k, v in context.items()}  # condition key names are case-insensitive
    return all(
        condition_entry_matches(operator, key.lower(), values, context)
        for operator, keys in (condition or {}).items()
        for key, values in keys.items()
    )


# ---------------------------------------------------------------------------------------------
# Statements, policies and the decision.

def _statements(policy):
    statements = _as_list(policy["Statement"])
    for statement in statements:
        if "Principal" in statement or "NotPrincipal" in statement:
            raise UnsupportedPolicy("resource-based policies (Principal) are not evaluated here")
    return statements


def statement_applies(statement, request):
    return (action_matches(statement, request.action)
            and resource_matches(statement, request.resource)
            and conditions_match(statement.get("Condition"), request.context))


def matching_statements(policies, request, effect):
    """(policy name, Sid) of every statement with this Effect that applies to the request."""
    return [
        (name, statement.get("Sid", f"#{index}"))
        for name, policy in policies.items()
        for index, statement in enumerate(_statements(policy), start=1)
        if statement["Effect"] == effect and statement_applies(statement, request)
    ]


def evaluate(request, identity, scps=None):
    """Decide a request made by a principal inside one account.

    identity: {policy name: policy document} attached to the role.
    scps: None when the account is not in an AWS Organization; otherwise one {name: document} per
    level of the organization (root, OUs..., account), each of which must allow the request.
    """
    levels = list(scps or [])
    everything = {name: doc for level in levels for name, doc in level.items()} | dict(identity)

    denies = matching_statements(everything, request, "Deny")
    if denies:
        policy, sid = denies[0]
        return Decision(EXPLICIT_DENY, policy, sid, tuple(denies),
                        f"explicit deny by {sid} in {policy}: a Deny always wins")

    for level in levels:
        if not matching_statements(level, request, "Allow"):
            names = ", ".join(level)
            return Decision(IMPLICIT_DENY, None, None, (),
                            f"no service control policy at this level ({names}) allows it")

    allows = matching_statements(identity, request, "Allow")
    if not allows:
        return Decision(IMPLICIT_DENY, None, None, (), "no identity policy allows it (implicit deny)")
    policy, sid = allows[0]
    return Decision(ALLOW, policy, sid, (), f"allowed by {sid} in {policy}, and nothing denies it")
