"""Lint policy files with parliament and print its findings as JSON.

parliament 1.6.4 imports pkg_resources, which setuptools 81+ no longer ships, so the tests run this
file with a separate Python that has parliament and an older setuptools (build/tools/parliament):

    build/tools/parliament/bin/python labs/06_security/guardrails/lint.py labs/06_security/policies/*.json

It uses parliament's Python API: its command line wants a terminal.
"""
import json
import sys
import warnings


def findings(paths):
    warnings.simplefilter("ignore")  # parliament's own pkg_resources deprecation warning
    from parliament import analyze_policy_string, enhance_finding

    found = []
    for path in paths:
        with open(path) as handle:
            policy = analyze_policy_string(handle.read(), filepath=path, ignore_private_auditors=True)
        for finding in map(enhance_finding, policy.findings):
            found.append({"file": path, "issue": finding.issue, "severity": finding.severity,
                          "detail": finding.detail, "line": (finding.location or {}).get("line")})
    return found


if __name__ == "__main__":
    print(json.dumps(findings(sys.argv[1:]), indent=1))
