"""The evaluation table: requests a data scientist might send, and what the guard rails must answer.

Every SageMaker row is an API request (the body you would give boto3), turned into an IAM request by
request_context. Expected verdicts are written from the policies' intent and the AWS documentation,
for the three setups of policies.setups(): "identity" (the role's policy alone), "scp" (an
administrator under the organization's SCP) and "both" (the data scientist under the SCP).
`denied_by` lists every statement (Sid) that denies the request in any of the policies: a Deny needs
only one, but the table says all of them so that a policy edit that silently drops one shows up.
"""
import copy
from dataclasses import dataclass, field

from .evaluator import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Request
from .policies import (ACCOUNT, APPROVED_SECURITY_GROUPS, APPROVED_SUBNETS, EXECUTION_ROLE, REGION,
                       WORKSHOP_KMS_KEY)
from .request_context import context_for, resource_arn

A, X, I = ALLOW, EXPLICIT_DENY, IMPLICIT_DENY  # short names keep the table readable
DROP = object()  # marks a field to remove from a request

FOREIGN_SUBNET = "subnet-0f0f0f0f0f0f0f0f0"
FOREIGN_SECURITY_GROUP = "sg-0f0f0f0f0f0f0f0f0"
FOREIGN_KMS_KEY = "arn:aws:kms:us-east-1:444455556666:key/0000aaaa-00aa-00aa-00aa-000000aaaaaa"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/lab06-train:latest"
DOMAIN_ID = "d-lab06studio01"
VPC = {"Subnets": APPROVED_SUBNETS, "SecurityGroupIds": APPROVED_SECURITY_GROUPS}


@dataclass(frozen=True)
class Case:
    name: str
    action: str
    expect: dict  # setup -> verdict
    denied_by: frozenset  # Sids of every matching Deny, over all policies
    why: str
    request: dict | None = None  # a SageMaker API request; or, for other services:
    resource: str | None = None
    context: dict = field(default_factory=dict)
    region: str = REGION

    def to_request(self):
        if self.request is None:
            return Request(self.action, self.resource, dict(self.context))
        return Request(self.action, resource_arn(self.action, self.request, self.region, ACCOUNT),
                       context_for(self.action, self.request))


def case(name, action, request=None, *, identity, scp, both, denied_by=(), why, **extra):
    return Case(name, action, {"identity": identity, "scp": scp, "both": both}, frozenset(denied_by), why,
                request, **extra)


def changed(request, changes):
    """A deep copy of request with dotted paths set to new values (or removed with DROP)."""
    result = copy.deepcopy(request)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = result
        for part in parents:
            target = target[part]
        if value is DROP:
            del target[last]
        else:
            target[last] = value
    return result


# --- compliant requests, one per action -----------------------------------------------------------
TRAINING = {
    "TrainingJobName": "lab06-train",
    "RoleArn": EXECUTION_ROLE,
    "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10,
                       "VolumeKmsKeyId": WORKSHOP_KMS_KEY},
    "OutputDataConfig": {"S3OutputPath": "s3://lab06-workshop-bucket/output", "KmsKeyId": WORKSHOP_KMS_KEY},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    "VpcConfig": VPC,
    "EnableNetworkIsolation": True,
    "EnableInterContainerTrafficEncryption": True,
}
TUNING = {
    "HyperParameterTuningJobName": "lab06-tune",
    "HyperParameterTuningJobConfig": {"Strategy": "Bayesian",
                                      "ResourceLimits": {"MaxNumberOfTrainingJobs": 4,
                                                         "MaxParallelTrainingJobs": 2}},
    "TrainingJobDefinition": {key: value for key, value in TRAINING.items() if key != "TrainingJobName"},
}
PROCESSING = {
    "ProcessingJobName": "lab06-process",
    "RoleArn": EXECUTION_ROLE,
    "AppSpecification": {"ImageUri": IMAGE},
    "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                              "VolumeSizeInGB": 10, "VolumeKmsKeyId": WORKSHOP_KMS_KEY}},
    "ProcessingOutputConfig": {"Outputs": [], "KmsKeyId": WORKSHOP_KMS_KEY},
    "NetworkConfig": {"VpcConfig": VPC, "EnableInterContainerTrafficEncryption": True},
}
MODEL = {
    "ModelName": "lab06-model",
    "ExecutionRoleArn": EXECUTION_ROLE,
    "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": "s3://lab06-workshop-bucket/output/model.tar.gz"},
    "VpcConfig": VPC,
    "EnableNetworkIsolation": True,
}
ENDPOINT_CONFIG = {
    "EndpointConfigName": "lab06-config",
    "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "lab06-model",
                            "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
    "KmsKeyId": WORKSHOP_KMS_KEY,
}
ENDPOINT = {"EndpointName": "lab06-endpoint", "EndpointConfigName": "lab06-config"}
NOTEBOOK = {
    "NotebookInstanceName": "lab06-notebook",
    "InstanceType": "ml.t3.medium",
    "RoleArn": EXECUTION_ROLE,
    "SubnetId": APPROVED_SUBNETS[0],
    "SecurityGroupIds": APPROVED_SECURITY_GROUPS,
    "KmsKeyId": WORKSHOP_KMS_KEY,
    "RootAccess": "Disabled",
    "DirectInternetAccess": "Disabled",
}
NOTEBOOK_UPDATE = {"NotebookInstanceName": "lab06-notebook", "InstanceType": "ml.t3.large"}
DOMAIN = {
    "DomainName": "lab06-studio",
    "AuthMode": "IAM",
    "DefaultUserSettings": {"ExecutionRole": EXECUTION_ROLE, "SecurityGroups": APPROVED_SECURITY_GROUPS},
    "SubnetIds": APPROVED_SUBNETS,
    "VpcId": "vpc-0a1b2c3d4e5f60000",
    "AppNetworkAccessType": "VpcOnly",
    "KmsKeyId": WORKSHOP_KMS_KEY,
}
USER_PROFILE = {"DomainId": DOMAIN_ID, "UserProfileName": "learner-1"}
SPACE = {"DomainId": DOMAIN_ID, "SpaceName": "learner-1-space",
         "OwnershipSettings": {"OwnerUserProfileName": "learner-1"}}
APP = {"DomainId": DOMAIN_ID, "SpaceName": "learner-1-space", "AppType": "JupyterLab", "AppName": "default"}

# --- groups of Sids that deny together --------------------------------------------------------------
NO_VPC = {"DenyWithoutVpcSubnets", "DenyWithoutVpcSecurityGroups",
          "OrgDenyWithoutVpcSubnets", "OrgDenyWithoutVpcSecurityGroups"}
NO_VOLUME_KEY = {"DenyVolumesWithoutTheWorkshopKey", "OrgDenyUnencryptedVolumes"}
NO_OUTPUT_KEY = {"DenyOutputWithoutTheWorkshopKey", "OrgDenyUnencryptedOutput"}
CLEAR_TRAFFIC = {"DenyClearInterContainerTraffic", "OrgDenyClearInterContainerTraffic"}
NOT_ISOLATED = {"DenyWithoutNetworkIsolation", "OrgDenyWithoutNetworkIsolation"}
STUDIO_ON_INTERNET = {"DenyStudioOutsideVpc", "OrgDenyStudioOutsideVpc"}

T, H, P = "sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob", "sagemaker:CreateProcessingJob"
NB, NBU = "sagemaker:CreateNotebookInstance", "sagemaker:UpdateNotebookInstance"
DOM, DOMU = "sagemaker:CreateDomain", "sagemaker:UpdateDomain"

CASES = [
    # --- training: the compliant job, then one violation at a time ---------------------------------
    case("training: compliant", T, TRAINING, identity=A, scp=A, both=A,
         why="in the approved subnets, both KMS keys, isolated, encrypted traffic"),
    case("training: no VpcConfig", T, changed(TRAINING, {"VpcConfig": DROP}), identity=X, scp=X, both=X,
         denied_by=NO_VPC, why="absent VPC keys: Null is true"),
    case("training: one subnet not approved", T,
         changed(TRAINING, {"VpcConfig": {"Subnets": [APPROVED_SUBNETS[0], FOREIGN_SUBNET],
                                          "SecurityGroupIds": APPROVED_SECURITY_GROUPS}}),
         identity=X, scp=A, both=X, denied_by={"DenyUnapprovedSubnets"},
         why="ForAnyValue:StringNotEquals: one value outside the list is enough; the SCP only asks for a VPC"),
    case("training: security group not approved", T,
         changed(TRAINING, {"VpcConfig.SecurityGroupIds": [FOREIGN_SECURITY_GROUP]}),
         identity=X, scp=A, both=X, denied_by={"DenyUnapprovedSecurityGroups"},
         why="the account's policy knows its security groups; the organization's does not"),
    case("training: no volume KMS key", T, changed(TRAINING, {"ResourceConfig.VolumeKmsKeyId": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_VOLUME_KEY,
         why="StringNotEquals on an absent key is true; Null is true"),
    case("training: another account's volume key", T,
         changed(TRAINING, {"ResourceConfig.VolumeKmsKeyId": FOREIGN_KMS_KEY}),
         identity=X, scp=A, both=X, denied_by={"DenyVolumesWithoutTheWorkshopKey"},
         why="encrypted, but not with the workshop's key"),
    case("training: volume key given as an alias", T,
         changed(TRAINING, {"ResourceConfig.VolumeKmsKeyId": "alias/workshop"}),
         identity=X, scp=A, both=X, denied_by={"DenyVolumesWithoutTheWorkshopKey"},
         why="give the key ARN: an alias is not the approved ARN, so it is denied"),
    case("training: no output KMS key", T, changed(TRAINING, {"OutputDataConfig.KmsKeyId": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_OUTPUT_KEY, why="model artifacts must be encrypted"),
    case("training: another account's output key", T,
         changed(TRAINING, {"OutputDataConfig.KmsKeyId": FOREIGN_KMS_KEY}),
         identity=X, scp=A, both=X, denied_by={"DenyOutputWithoutTheWorkshopKey"},
         why="artifacts encrypted with a key someone else controls"),
    case("training: inter-container encryption off", T,
         changed(TRAINING, {"EnableInterContainerTrafficEncryption": False}),
         identity=X, scp=X, both=X, denied_by=CLEAR_TRAFFIC, why="BoolIfExists false matches false"),
    case("training: inter-container encryption not set", T,
         changed(TRAINING, {"EnableInterContainerTrafficEncryption": DROP}),
         identity=X, scp=X, both=X, denied_by=CLEAR_TRAFFIC,
         why="BoolIfExists also matches an absent key: the API default (off) is denied too"),
    case("training: network isolation off", T, changed(TRAINING, {"EnableNetworkIsolation": False}),
         identity=X, scp=X, both=X, denied_by=NOT_ISOLATED, why="the container could call out"),
    case("training: network isolation not set", T, changed(TRAINING, {"EnableNetworkIsolation": DROP}),
         identity=X, scp=X, both=X, denied_by=NOT_ISOLATED, why="absent means the default: not isolated"),
    case("training: bare request, every setting missing", T,
         changed(TRAINING, {"VpcConfig": DROP, "ResourceConfig.VolumeKmsKeyId": DROP,
                            "OutputDataConfig.KmsKeyId": DROP, "EnableNetworkIsolation": DROP,
                            "EnableInterContainerTrafficEncryption": DROP}),
         identity=X, scp=X, both=X,
         denied_by=NO_VPC | NO_VOLUME_KEY | NO_OUTPUT_KEY | CLEAR_TRAFFIC | NOT_ISOLATED,
         why="what a default SDK call sends: every guard rail fires"),
    case("training: compliant job in another region", T, TRAINING, region="eu-west-1",
         identity=I, scp=A, both=I,
         why="the Allow's Resource names us-east-1 only: no Allow matches, an implicit deny"),
    # --- tuning: launches training jobs, so the same guard rails -------------------------------------
    case("tuning: compliant", H, TUNING, identity=A, scp=A, both=A, why="as the compliant training job"),
    case("tuning: network isolation off", H,
         changed(TUNING, {"TrainingJobDefinition.EnableNetworkIsolation": False}),
         identity=X, scp=X, both=X, denied_by=NOT_ISOLATED,
         why="without this, tuning would be a way around the training guard rail"),
    case("tuning: no VPC", H, changed(TUNING, {"TrainingJobDefinition.VpcConfig": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_VPC, why="same keys, one level down"),
    # --- processing: isolation is not required (processing jobs often need the network) ---------------
    case("processing: compliant, not isolated", P, PROCESSING, identity=A, scp=A, both=A,
         why="network isolation is required only where the workload allows it: not for processing"),
    case("processing: isolated", P, changed(PROCESSING, {"NetworkConfig.EnableNetworkIsolation": True}),
         identity=A, scp=A, both=A, why="isolation is allowed, just not required"),
    case("processing: no VPC", P, changed(PROCESSING, {"NetworkConfig.VpcConfig": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_VPC, why="VPC is still required"),
    case("processing: no output KMS key", P, changed(PROCESSING, {"ProcessingOutputConfig.KmsKeyId": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_OUTPUT_KEY, why="outputs must be encrypted"),
    case("processing: no volume KMS key", P,
         changed(PROCESSING, {"ProcessingResources.ClusterConfig.VolumeKmsKeyId": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_VOLUME_KEY, why="volumes must be encrypted"),
    case("processing: inter-container encryption off", P,
         changed(PROCESSING, {"NetworkConfig.EnableInterContainerTrafficEncryption": False}),
         identity=X, scp=X, both=X, denied_by=CLEAR_TRAFFIC, why="multi-instance jobs talk to each other"),
    # --- models and endpoints -------------------------------------------------------------------------
    case("model: compliant", "sagemaker:CreateModel", MODEL, identity=A, scp=A, both=A,
         why="in the VPC and isolated"),
    case("model: no VPC", "sagemaker:CreateModel", changed(MODEL, {"VpcConfig": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_VPC, why="endpoints would run outside the VPC"),
    case("model: network isolation off", "sagemaker:CreateModel",
         changed(MODEL, {"EnableNetworkIsolation": False}),
         identity=X, scp=X, both=X, denied_by=NOT_ISOLATED, why="the serving container could call out"),
    case("endpoint config: compliant", "sagemaker:CreateEndpointConfig", ENDPOINT_CONFIG,
         identity=A, scp=A, both=A, why="volume encrypted with the workshop key"),
    case("endpoint config: no KMS key", "sagemaker:CreateEndpointConfig",
         changed(ENDPOINT_CONFIG, {"KmsKeyId": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_VOLUME_KEY, why="endpoint volumes must be encrypted"),
    case("endpoint config: another account's key", "sagemaker:CreateEndpointConfig",
         changed(ENDPOINT_CONFIG, {"KmsKeyId": FOREIGN_KMS_KEY}),
         identity=X, scp=A, both=X, denied_by={"DenyVolumesWithoutTheWorkshopKey"}, why="not our key"),
    case("endpoint", "sagemaker:CreateEndpoint", ENDPOINT, identity=A, scp=A, both=A,
         why="CreateEndpoint has none of these keys: its model and config were checked when created"),
    # --- notebook instances: the identity policy allows only safe ones; the SCP denies unsafe ones ---
    case("notebook: compliant", NB, NOTEBOOK, identity=A, scp=A, both=A,
         why="no root, no direct internet, in the VPC, encrypted"),
    case("notebook: root access enabled", NB, changed(NOTEBOOK, {"RootAccess": "Enabled"}),
         identity=I, scp=X, both=X, denied_by={"OrgDenyNotebookRootAccess"},
         why="the role's conditional Allow does not match (implicit); the SCP denies explicitly"),
    case("notebook: root access not set", NB, changed(NOTEBOOK, {"RootAccess": DROP}),
         identity=I, scp=X, both=X, denied_by={"OrgDenyNotebookRootAccess"},
         why="StringEquals on an absent key is false; StringNotEquals on an absent key is true"),
    case("notebook: direct internet access enabled", NB,
         changed(NOTEBOOK, {"DirectInternetAccess": "Enabled"}),
         identity=I, scp=X, both=X, denied_by={"OrgDenyNotebookDirectInternetAccess"},
         why="the two keys of the Allow are ANDed: one wrong value and it no longer matches"),
    case("notebook: direct internet access not set", NB, changed(NOTEBOOK, {"DirectInternetAccess": DROP}),
         identity=I, scp=X, both=X, denied_by={"OrgDenyNotebookDirectInternetAccess"},
         why="the API default is Enabled: absent must be denied"),
    case("notebook: outside the VPC", NB, changed(NOTEBOOK, {"SubnetId": DROP, "SecurityGroupIds": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_VPC, why="no subnet, no security groups"),
    case("notebook: no KMS key", NB, changed(NOTEBOOK, {"KmsKeyId": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_VOLUME_KEY, why="the notebook's volume must be encrypted"),
    case("notebook update: root access unchanged", NBU, NOTEBOOK_UPDATE, identity=A, scp=A, both=A,
         why="StringEqualsIfExists: no RootAccess in the request, nothing to check"),
    case("notebook update: root access stays disabled", NBU,
         changed(NOTEBOOK_UPDATE, {"RootAccess": "Disabled"}), identity=A, scp=A, both=A,
         why="present and Disabled"),
    case("notebook update: turns root access on", NBU, changed(NOTEBOOK_UPDATE, {"RootAccess": "Enabled"}),
         identity=I, scp=X, both=X, denied_by={"OrgDenyTurningNotebookRootAccessOn"},
         why="an update must not undo the guard rail the create enforced"),
    # --- Studio ---------------------------------------------------------------------------------------
    case("domain: compliant, VPC only", DOM, DOMAIN, identity=A, scp=A, both=A,
         why="VpcOnly, approved subnets and security groups, encrypted home volume"),
    case("domain: public internet", DOM, changed(DOMAIN, {"AppNetworkAccessType": "PublicInternetOnly"}),
         identity=X, scp=X, both=X, denied_by=STUDIO_ON_INTERNET, why="Studio apps would reach the internet"),
    case("domain: network access type not set", DOM, changed(DOMAIN, {"AppNetworkAccessType": DROP}),
         identity=X, scp=X, both=X, denied_by=STUDIO_ON_INTERNET,
         why="the API default is PublicInternetOnly; StringNotEquals denies the absent key"),
    case("domain: subnet not approved", DOM, changed(DOMAIN, {"SubnetIds": [FOREIGN_SUBNET]}),
         identity=X, scp=A, both=X, denied_by={"DenyUnapprovedSubnets"}, why="not the lab's private subnets"),
    case("domain: no KMS key", DOM, changed(DOMAIN, {"KmsKeyId": DROP}),
         identity=X, scp=X, both=X, denied_by=NO_VOLUME_KEY, why="the shared home volume must be encrypted"),
    case("domain update: open to the internet", DOMU,
         {"DomainId": DOMAIN_ID, "AppNetworkAccessType": "PublicInternetOnly"},
         identity=I, scp=X, both=X, denied_by={"OrgDenyOpeningStudioToTheInternet"},
         why="the role may not update domains at all; the SCP stops anyone from opening one"),
    case("domain update: other settings", DOMU, {"DomainId": DOMAIN_ID},
         identity=I, scp=A, both=I, why="no Allow for UpdateDomain in the role's policy"),
    case("user profile: inherits the domain's security groups", "sagemaker:CreateUserProfile",
         USER_PROFILE, identity=A, scp=A, both=A,
         why="ForAnyValue on an absent key is false: no override, nothing to deny"),
    case("user profile: approved security group", "sagemaker:CreateUserProfile",
         changed(USER_PROFILE, {"UserSettings": {"SecurityGroups": APPROVED_SECURITY_GROUPS}}),
         identity=A, scp=A, both=A, why="an override inside the approved list"),
    case("user profile: security group not approved", "sagemaker:CreateUserProfile",
         changed(USER_PROFILE, {"UserSettings": {"SecurityGroups": [FOREIGN_SECURITY_GROUP]}}),
         identity=X, scp=A, both=X, denied_by={"DenyUnapprovedSecurityGroups"},
         why="a profile could otherwise pick a group that allows more traffic"),
    case("space", "sagemaker:CreateSpace", SPACE, identity=A, scp=A, both=A,
         why="spaces support none of these keys: they run in the domain's VPC-only network"),
    case("app", "sagemaker:CreateApp", APP, identity=A, scp=A, both=A,
         why="likewise apps: the domain is where the network is decided"),
    # --- passing the execution role: an Allow with a condition ---------------------------------------
    case("pass the execution role to SageMaker", "iam:PassRole", resource=EXECUTION_ROLE,
         context={"iam:PassedToService": "sagemaker.amazonaws.com"}, identity=A, scp=A, both=A,
         why="the jobs above need it"),
    case("pass the execution role to EC2", "iam:PassRole", resource=EXECUTION_ROLE,
         context={"iam:PassedToService": "ec2.amazonaws.com"}, identity=I, scp=A, both=I,
         why="the Allow's condition does not match: an implicit deny, not an explicit one"),
    case("pass another role to SageMaker", "iam:PassRole",
         resource=f"arn:aws:iam::{ACCOUNT}:role/workshop-admin",
         context={"iam:PassedToService": "sagemaker.amazonaws.com"}, identity=I, scp=A, both=I,
         why="only the execution role may be passed"),
]
