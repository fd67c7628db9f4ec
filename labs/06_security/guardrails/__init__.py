"""Lab 06 guard rails: the policies, a small IAM evaluator, and the table of requests that proves them.

    import sys; sys.path.insert(0, "labs/06_security")
    from guardrails import CASES, evaluate, setups
    identity, scps = setups()["both"]
    decision = evaluate(CASES[0].to_request(), identity, scps)
    decision.verdict, decision.sid
"""
from .evaluator import (ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Decision, Request, UnsupportedPolicy,
                        conditions_match, evaluate)
from .policies import customise, load, setups
from .request_context import context_for, resource_arn
from .requests import CASES, Case


def table(cases=None):
    """One row per case and setup, as plain dicts (for a DataFrame in the notebook)."""
    all_setups = setups()
    rows = []
    for item in cases or CASES:
        row = {"request": item.name}
        for setup, (identity, scps) in all_setups.items():
            decision = evaluate(item.to_request(), identity, scps)
            row[setup] = decision.verdict
            row[f"{setup} (Sid)"] = decision.sid or ""
        rows.append(row)
    return rows
