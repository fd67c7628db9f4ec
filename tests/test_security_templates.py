"""Lab 06 CloudFormation templates: cfn-lint and checkov clean, the custom SageMaker checks work, and the
security properties issue 17 asks for are really in the templates.

cfn-lint runs from the project's environment. checkov pins its own boto3, so it gets its own virtual
environment under build/tools/checkov/, made once from tests/tools/checkov/requirements.txt (exact pins)
and reused while that file is unchanged. checkov runs offline (--skip-download).

Resource references (CloudFormation Template Reference):
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-vpcendpoint.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-domain.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-space.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-notebookinstance.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-notebookinstancelifecycleconfig.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-servicecatalog-launchroleconstraint.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-rule.html
"""
import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "labs" / "06_security"
TEMPLATES = LAB / "templates"
CHECKS = LAB / "checks"
BAD_TEMPLATE = ROOT / "tests" / "fixtures" / "cfn" / "sagemaker_insecure.yaml"
CHECKOV_REQUIREMENTS = ROOT / "tests" / "tools" / "checkov" / "requirements.txt"
CHECKOV_VENV = ROOT / "build" / "tools" / "checkov"

TEMPLATE_NAMES = sorted(path.name for path in TEMPLATES.glob("*.yaml"))
CUSTOM_CHECKS = ["CKV_SMWS_1", "CKV_SMWS_2", "CKV_SMWS_3", "CKV_SMWS_4"]


def test_the_lab_has_its_templates():
    assert set(TEMPLATE_NAMES) >= {"network.yaml", "studio.yaml", "notebook.yaml", "service_catalog.yaml",
                                   "studio_user_profile.yaml", "detective_control.yaml"}


# ---------------------------------------------------------------------------------------------- tools

def load(name):
    """A template as data, with short-form tags (!Ref, !Sub, ...) turned into their long forms."""
    from cfnlint.decode import decode

    template, errors = decode(str(TEMPLATES / name))
    assert not errors, errors
    return template


def resources(template, kind):
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="session")
def checkov():
    """checkov's executable in its own venv, created or refreshed when the pinned requirements change."""
    digest = hashlib.sha256(CHECKOV_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = CHECKOV_VENV / "requirements.sha256"
    executable = CHECKOV_VENV / "bin" / "checkov"
    CHECKOV_VENV.parent.mkdir(parents=True, exist_ok=True)
    # Two test runs at once (several engineers, one tree) must not build the same venv together.
    with open(CHECKOV_VENV.parent / "checkov.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (executable.exists() and stamp.exists() and stamp.read_text() == digest):
            make_checkov_venv()
            stamp.write_text(digest)
    return executable


def make_checkov_venv():
    shutil.rmtree(CHECKOV_VENV, ignore_errors=True)
    steps = [[sys.executable, "-m", "venv", str(CHECKOV_VENV)],
             [str(CHECKOV_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
              "--disable-pip-version-check", "--no-input", "-r", str(CHECKOV_REQUIREMENTS)]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"could not install checkov for the template tests: {' '.join(step)}\n"
                        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}", pytrace=False)


def run_checkov(executable, *target):
    """checkov's JSON report for one CloudFormation file or directory, custom checks included."""
    command = [str(executable), "--skip-download", "--framework", "cloudformation",
               "--external-checks-dir", str(CHECKS), "--output", "json", *target]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    # Exit code 1 means "some check failed"; the report says which, so only a missing report is fatal.
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON report (exit {done.returncode}):\n{done.stderr[-3000:]}",
                    pytrace=False)
    reports = report if isinstance(report, list) else [report]
    (report,) = [r for r in reports if r.get("check_type") == "cloudformation"]
    return report


@pytest.fixture(scope="session")
def checkov_templates(checkov):
    return run_checkov(checkov, "--directory", str(TEMPLATES))


@pytest.fixture(scope="session")
def checkov_bad(checkov):
    return run_checkov(checkov, "--file", str(BAD_TEMPLATE))


def results_for(report, outcome, template=None):
    """(check id, resource logical id) pairs for one outcome (passed/failed/skipped), optionally one file."""
    return {(check["check_id"], check["resource"].split(".", 1)[1])
            for check in report["results"][f"{outcome}_checks"]
            if template is None or check["file_path"].lstrip("/") == template}


# ------------------------------------------------------------------------------------------- cfn-lint

@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_cfn_lint_finds_nothing(name):
    """Errors, warnings and informational findings all count; no rule is ignored in the templates."""
    from cfnlint.api import ManualArgs, lint_file

    findings = lint_file(TEMPLATES / name, config=ManualArgs(include_checks=["I"]))
    report = [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in findings]
    print(f"cfn-lint {name}: {len(findings)} findings")
    assert report == []
    assert "cfn-lint" not in load(name).get("Metadata", {}), "a template-wide suppression needs a review"


# -------------------------------------------------------------------------------------------- checkov

def test_checkov_parses_every_template(checkov_templates):
    summary = checkov_templates["summary"]
    print(f"checkov all templates: {summary}")
    assert summary["parsing_errors"] == 0
    assert summary["failed"] == 0


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_checkov_passes(checkov_templates, name):
    passed = results_for(checkov_templates, "passed", name)
    failed = results_for(checkov_templates, "failed", name)
    skipped = results_for(checkov_templates, "skipped", name)
    print(f"checkov {name}: passed {len(passed)}, failed {len(failed)}, skipped {len(skipped)}")
    assert failed == set()
    if name != "studio_user_profile.yaml":  # a user profile and a space: no rule applies to either
        assert passed


def test_every_checkov_suppression_says_why(checkov_templates):
    skipped = checkov_templates["results"]["skipped_checks"]
    for check in skipped:
        reason = check.get("check_result", {}).get("suppress_comment", "")
        assert len(reason) > 20 and reason != "No comment provided", check["check_id"]
    assert {check["check_id"] for check in skipped} <= {"CKV_AWS_18", "CKV_AWS_117"}, \
        "a new suppression: review it and add it here"


def test_custom_checks_pass_the_real_templates(checkov_templates):
    """Also proves checkov loaded them: it skips a checks folder silently when something is wrong."""
    passed = results_for(checkov_templates, "passed")
    assert {("CKV_SMWS_1", "Notebook"), ("CKV_SMWS_2", "Notebook"), ("CKV_SMWS_3", "Notebook"),
            ("CKV_SMWS_4", "Domain")} <= passed


def test_each_custom_check_fails_exactly_the_resources_that_break_it(checkov_bad):
    failed = results_for(checkov_bad, "failed")
    custom = {pair for pair in failed if pair[0] in CUSTOM_CHECKS}
    assert custom == {
        ("CKV_SMWS_1", "NotebookRootAccessByDefault"),
        ("CKV_SMWS_2", "NotebookDirectInternetAccess"),
        ("CKV_SMWS_3", "NotebookNoSecurityGroups"),
        ("CKV_SMWS_4", "DomainPublicInternet"),
        ("CKV_SMWS_4", "DomainVpcOnlyNoSecurityGroups"),
    }


# --------------------------------------------------------------------------------------- network.yaml

def test_network_has_no_path_to_the_internet():
    template = load("network.yaml")
    kinds = {body["Type"] for body in template["Resources"].values()}
    assert not kinds & {"AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EgressOnlyInternetGateway",
                        "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::TransitGatewayAttachment", "AWS::EC2::EIP"}
    # No route resources at all: the route table keeps only the local route and the S3 endpoint's.
    assert "AWS::EC2::Route" not in kinds
    subnets = resources(template, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    assert all(body["Properties"]["MapPublicIpOnLaunch"] is False for body in subnets.values())
    zones = {json.dumps(body["Properties"]["AvailabilityZone"]) for body in subnets.values()}
    assert len(zones) == 2, "the two private subnets must be in different Availability Zones"


def endpoint_services(template):
    return {body["Properties"]["ServiceName"]["Fn::Sub"]: body
            for body in resources(template, "AWS::EC2::VPCEndpoint").values()}


def test_network_has_every_endpoint_sagemaker_needs():
    endpoints = endpoint_services(load("network.yaml"))
    interface = {f"com.amazonaws.${{AWS::Region}}.{name}"
                 for name in ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "ecr.api", "ecr.dkr")}
    interface.add("aws.sagemaker.${AWS::Region}.studio")
    assert set(endpoints) == interface | {"com.amazonaws.${AWS::Region}.s3"}
    for service in interface:
        properties = endpoints[service]["Properties"]
        assert properties["VpcEndpointType"] == "Interface"
        assert properties["PrivateDnsEnabled"] is True
        assert properties["SubnetIds"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
        assert properties["SecurityGroupIds"] == [{"Ref": "EndpointSecurityGroup"}]


def test_s3_endpoint_policy_allows_the_lab_bucket_only():
    s3 = endpoint_services(load("network.yaml"))["com.amazonaws.${AWS::Region}.s3"]["Properties"]
    assert s3["VpcEndpointType"] == "Gateway"
    bucket = "arn:${AWS::Partition}:s3:::${BucketNamePrefix}-${AWS::AccountId}-${AWS::Region}"
    statements = s3["PolicyDocument"]["Statement"]
    assert all(statement["Effect"] == "Allow" for statement in statements)
    allowed = [resource["Fn::Sub"] for statement in statements for resource in as_list(statement["Resource"])]
    assert {bucket, bucket + "/*"} <= set(allowed)
    # Anything else may only be the AWS-owned bucket where ECR keeps image layers, read-only.
    others = [s for s in statements if set(r["Fn::Sub"] for r in as_list(s["Resource"])) - {bucket, bucket + "/*"}]
    for statement in others:
        assert [r["Fn::Sub"] for r in as_list(statement["Resource"])] == \
            ["arn:${AWS::Partition}:s3:::prod-${AWS::Region}-starport-layer-bucket/*"]
        assert statement["Action"] == "s3:GetObject"
    assert "*" not in allowed


def test_security_groups_endpoints_https_from_workloads_and_workloads_talk_to_each_other():
    template = load("network.yaml")
    endpoint_sg = template["Resources"]["EndpointSecurityGroup"]["Properties"]
    (ingress,) = endpoint_sg["SecurityGroupIngress"]
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 443, 443)
    assert ingress["SourceSecurityGroupId"] == {"Ref": "WorkloadSecurityGroup"}
    self_rules = [body["Properties"] for body in template["Resources"].values()
                  if body["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")]
    sources = {json.dumps(rule.get("SourceSecurityGroupId") or rule.get("DestinationSecurityGroupId"))
               for rule in self_rules if rule["GroupId"] == {"Ref": "WorkloadSecurityGroup"}}
    assert sources == {json.dumps({"Ref": "WorkloadSecurityGroup"})}
    assert len(self_rules) == 2  # in and out, for distributed training and Studio apps


# ---------------------------------------------------------------------------------------- studio.yaml

def test_studio_domain_is_vpc_only_encrypted_and_shuts_idle_apps_down():
    template = load("studio.yaml")
    domain = template["Resources"]["Domain"]["Properties"]
    assert domain["AppNetworkAccessType"] == "VpcOnly"
    assert domain["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert domain["SubnetIds"] == {"Ref": "SubnetIds"}
    assert domain["DefaultUserSettings"]["SecurityGroups"] == [{"Ref": "WorkloadSecurityGroupId"}]
    assert domain["DomainSettings"]["DockerSettings"]["EnableDockerAccess"] == "DISABLED"
    for app in ("JupyterLabAppSettings", "CodeEditorAppSettings"):
        idle = domain["DefaultUserSettings"][app]["AppLifecycleManagement"]["IdleSettings"]
        assert idle["LifecycleManagement"] == "ENABLED"
        assert idle["IdleTimeoutInMinutes"] == {"Ref": "IdleTimeoutInMinutes"}
    space = template["Resources"]["Space"]["Properties"]
    assert space["SpaceSharingSettings"]["SharingType"] == "Private"
    assert space["SpaceSettings"]["RemoteAccess"] == "DISABLED"


def test_studio_bucket_is_private_kms_encrypted_versioned_and_tls_only():
    template = load("studio.yaml")
    bucket = template["Resources"]["DataBucket"]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                     "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "LogBucket"}
    policy = template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": False}}
               for s in policy["Statement"])


def test_studio_key_is_used_only_through_aws_services():
    key = load("studio.yaml")["Resources"]["Key"]["Properties"]
    assert key["EnableKeyRotation"] is True
    for statement in key["KeyPolicy"]["Statement"]:
        assert statement["Principal"] != "*" and statement["Principal"].get("AWS") != "*"
        actions = as_list(statement["Action"])
        if any(a in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*") for a in actions):
            assert "kms:ViaService" in statement["Condition"]["StringEquals"]
        assert "kms:*" not in actions


def test_presigned_url_only_through_the_vpc_endpoints():
    statements = load("studio.yaml")["Resources"]["PresignedUrlFromVpcOnly"]["Properties"]["PolicyDocument"]["Statement"]
    endpoints = [{"Ref": "SageMakerApiEndpointId"}, {"Ref": "StudioEndpointId"}]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert [s["Action"] for s in allow + deny] == ["sagemaker:CreatePresignedDomainUrl"] * 2
    assert allow[0]["Condition"] == {"StringEquals": {"aws:SourceVpce": endpoints}}
    # StringNotEquals is also true when the key is missing (a call from the internet has no endpoint).
    assert deny[0]["Condition"] == {"StringNotEquals": {"aws:SourceVpce": endpoints}}


# -------------------------------------------------------------------------------------- notebook.yaml

def test_notebook_has_no_root_no_internet_and_runs_in_the_vpc():
    template = load("notebook.yaml")
    notebook = template["Resources"]["Notebook"]["Properties"]
    assert notebook["RootAccess"] == "Disabled"
    assert notebook["DirectInternetAccess"] == "Disabled"
    assert notebook["SubnetId"] == {"Ref": "SubnetId"}
    assert notebook["SecurityGroupIds"] == [{"Ref": "WorkloadSecurityGroupId"}]
    assert notebook["KmsKeyId"] == {"Ref": "KmsKeyArn"}
    assert notebook["InstanceMetadataServiceConfiguration"]["MinimumInstanceMetadataServiceVersion"] == "2"
    assert notebook["LifecycleConfigName"] == {
        "Fn::GetAtt": ["IdleShutdown", "NotebookInstanceLifecycleConfigName"]}


def test_notebook_idle_shutdown_script_is_valid_python():
    """The lifecycle configuration embeds a Python script; a syntax error would only show on AWS."""
    config = load("notebook.yaml")["Resources"]["IdleShutdown"]["Properties"]
    (on_start,) = config["OnStart"]
    script = on_start["Content"]["Fn::Base64"]["Fn::Sub"]
    python = re.search(r"<<'PY'\n(.*?)\nPY\n", script, re.S).group(1)
    compile(python.replace("${AWS::Region}", "us-east-1"), "stop-if-idle.py", "exec")
    assert "stop-notebook-instance" in python
    assert re.search(r"/etc/cron\.d/", script)


# ------------------------------------------------------------------------------- service_catalog.yaml

def test_service_catalog_offers_the_secure_profile_with_a_launch_role():
    template = load("service_catalog.yaml")
    product = template["Resources"]["Product"]["Properties"]
    (artifact,) = product["ProvisioningArtifactParameters"]
    assert artifact["Info"] == {"LoadTemplateFromURL": {"Ref": "ProductTemplateUrl"}}
    constraint = template["Resources"]["LaunchConstraint"]
    assert constraint["Type"] == "AWS::ServiceCatalog::LaunchRoleConstraint"
    assert constraint["Properties"]["RoleArn"] == {"Fn::GetAtt": ["LaunchRole", "Arn"]}
    (principal,) = resources(template, "AWS::ServiceCatalog::PortfolioPrincipalAssociation").values()
    assert principal["Properties"]["PrincipalARN"] == {"Ref": "DataScienceRoleArn"}
    trust = template["Resources"]["LaunchRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "servicecatalog.amazonaws.com"}]


def test_launch_role_may_pass_only_the_studio_execution_role():
    statements = iam_statements(load("service_catalog.yaml"))
    passes = [s for s in statements if "iam:PassRole" in as_list(s["Action"])]
    assert [s["Resource"] for s in passes] == [{"Ref": "StudioExecutionRoleArn"}]
    assert passes[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


# ---------------------------------------------------------------------- all templates: least privilege

# Actions without resource-level permissions (they need Resource "*"), all read-only.
RESOURCE_STAR_OK = re.compile(r"^(ec2:Describe\w+|ecr:GetAuthorizationToken|sagemaker:List\w+|"
                              r"cloudformation:(GetTemplateSummary|ValidateTemplate))$")


def iam_statements(template):
    found = []
    for body in template["Resources"].values():
        if body["Type"] == "AWS::IAM::Role":
            for policy in body["Properties"].get("Policies", []):
                found += policy["PolicyDocument"]["Statement"]
        elif body["Type"] == "AWS::IAM::ManagedPolicy":
            found += body["Properties"]["PolicyDocument"]["Statement"]
    return found


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_no_wildcard_actions_and_star_resources_only_where_aws_requires(name):
    for statement in iam_statements(load(name)):
        actions = as_list(statement["Action"])
        assert not any(action == "*" or action.endswith(":*") for action in actions), statement
        if statement["Effect"] == "Allow" and statement["Resource"] == "*" and "Condition" not in statement:
            assert all(RESOURCE_STAR_OK.match(action) for action in actions), statement


# -------------------------------------------------------------------------------- detective_control.yaml

def test_detective_control_wiring():
    template = load("detective_control.yaml")
    rule = template["Resources"]["CreateTrainingJobRule"]["Properties"]
    assert rule["EventPattern"]["detail"]["eventName"] == ["CreateTrainingJob"]
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["Function", "Arn"]}
    permission = template["Resources"]["InvokeFromRule"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["CreateTrainingJobRule", "Arn"]}
    function = template["Resources"]["Function"]["Properties"]
    module, entry = function["Handler"].split(".")
    assert (LAB / "detective" / f"{module}.py").exists()
    assert f"def {entry}(" in (LAB / "detective" / f"{module}.py").read_text()


def test_detective_control_role_can_only_inspect_and_stop_training_jobs():
    statements = iam_statements(load("detective_control.yaml"))
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert actions == {"sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "logs:CreateLogStream",
                       "logs:PutLogEvents", "sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"}
    (sagemaker,) = [s for s in statements if s["Sid"] == "InspectAndStopTrainingJobs"]
    assert sagemaker["Resource"]["Fn::Sub"].endswith(":training-job/*")
