"""The guard-rail policies of Lab 06 and the three ways the lab evaluates a request against them.

The JSON files in ../policies are the policies themselves (JSON has no comments: their reasons are in
../policies/README.md). They name an example account; `customise` swaps in a real account's values.
"""
import json
from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"

# The example values written into the policies (AWS's documentation account number).
ACCOUNT = "111122223333"
REGION = "us-east-1"
APPROVED_SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
APPROVED_SECURITY_GROUPS = ["sg-0a1b2c3d4e5f60003"]
WORKSHOP_KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/workshop-sagemaker-execution"
DATA_SCIENTIST = f"arn:aws:iam::{ACCOUNT}:role/workshop-data-scientist"

IDENTITY_FILE = "data_scientist_identity.json"
SCP_FILE = "scp_sagemaker_guardrails.json"
FULL_ACCESS_FILE = "scp_full_aws_access.json"  # the SCP AWS attaches by default: allows everything


def load(file_name):
    return json.loads((POLICY_DIR / file_name).read_text())


def customise(policy, replacements):
    """The same policy with example values (account, subnets, key ARN, ...) replaced by real ones."""
    text = json.dumps(policy)
    for old, new in replacements.items():
        text = text.replace(old, new)
    return json.loads(text)


def setups():
    """Who is asking, under which organization policies.

    identity: the data-science role in an account outside any organization (its own policy only);
    scp:      an administrator (allowed everything) in an account under the guard-rail SCP, which
              shows what the organization lets through whoever asks;
    both:     the data-science role under the SCP: the real thing.
    Each is (identity policies, SCP levels or None). FullAWSAccess sits beside the guard rails
    because SCPs grant nothing: without an Allow at the level, every request is implicitly denied.
    """
    scps = [{"FullAWSAccess": load(FULL_ACCESS_FILE), "SageMakerGuardrails": load(SCP_FILE)}]
    data_scientist = {"DataScientist": load(IDENTITY_FILE)}
    administrator = {"AdministratorAccess": load(FULL_ACCESS_FILE)}  # same document: Allow * on *
    return {
        "identity": (data_scientist, None),
        "scp": (administrator, scps),
        "both": (data_scientist, scps),
    }
