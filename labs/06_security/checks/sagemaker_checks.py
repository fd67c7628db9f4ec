"""Custom checkov checks for SageMaker in CloudFormation (Lab 06).

checkov's CloudFormation rules for SageMaker cover KMS, IMDSv2 and model network isolation; root access,
direct internet access and VPC placement are checked only for Terraform. These fill the gap. Load them
with `checkov --external-checks-dir labs/06_security/checks`.

A value that must be a fixed setting (RootAccess, DirectInternetAccess, AppNetworkAccessType) has to be
that literal: a parameter or condition could make it anything at deploy time. Where the value is an
identifier (subnets, security groups), an intrinsic function such as !Ref is accepted.

Resource references:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-notebookinstance.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-domain.html
"""
from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

NOTEBOOK = "AWS::SageMaker::NotebookInstance"
DOMAIN = "AWS::SageMaker::Domain"


def _properties(conf):
    properties = conf.get("Properties")
    return properties if isinstance(properties, dict) else {}


def _is_set(value):
    """A non-empty literal, or an intrinsic function ({'Ref': ...}, {'Fn::...': ...}) that supplies one."""
    if isinstance(value, dict):
        if len(value) != 1:
            return False
        key = next(iter(value))
        return key == "Ref" or key.startswith("Fn::")
    return bool(value)


def _is_non_empty_list(value):
    """A list with at least one set item, or one intrinsic that yields a list (!Ref of a List parameter)."""
    if isinstance(value, list):
        return bool(value) and all(_is_set(item) for item in value)
    return isinstance(value, dict) and _is_set(value)


class _SageMakerCheck(BaseResourceCheck):
    def __init__(self, id, name, resource):
        super().__init__(name=name, id=id, categories=[CheckCategories.NETWORKING],
                         supported_resources=[resource])


class NotebookRootAccessDisabled(_SageMakerCheck):
    def __init__(self):
        super().__init__("CKV_SMWS_1", "SageMaker notebook instance has root access disabled", NOTEBOOK)

    def scan_resource_conf(self, conf):
        # CloudFormation's default is Enabled, so a missing property fails.
        ok = _properties(conf).get("RootAccess") == "Disabled"
        return CheckResult.PASSED if ok else CheckResult.FAILED

    def get_evaluated_keys(self):
        return ["Properties/RootAccess"]


class NotebookDirectInternetAccessDisabled(_SageMakerCheck):
    def __init__(self):
        super().__init__("CKV_SMWS_2", "SageMaker notebook instance has direct internet access disabled",
                         NOTEBOOK)

    def scan_resource_conf(self, conf):
        # Default Enabled; Disabled is only valid together with a SubnetId (checked by CKV_SMWS_3).
        ok = _properties(conf).get("DirectInternetAccess") == "Disabled"
        return CheckResult.PASSED if ok else CheckResult.FAILED

    def get_evaluated_keys(self):
        return ["Properties/DirectInternetAccess"]


class NotebookInVpc(_SageMakerCheck):
    def __init__(self):
        super().__init__("CKV_SMWS_3", "SageMaker notebook instance runs in a VPC subnet with security groups",
                         NOTEBOOK)

    def scan_resource_conf(self, conf):
        properties = _properties(conf)
        ok = _is_set(properties.get("SubnetId")) and _is_non_empty_list(properties.get("SecurityGroupIds"))
        return CheckResult.PASSED if ok else CheckResult.FAILED

    def get_evaluated_keys(self):
        return ["Properties/SubnetId", "Properties/SecurityGroupIds"]


class DomainVpcOnly(_SageMakerCheck):
    def __init__(self):
        super().__init__("CKV_SMWS_4", "SageMaker Studio domain is VPC-only with subnets and security groups",
                         DOMAIN)

    def scan_resource_conf(self, conf):
        properties = _properties(conf)
        user_settings = properties.get("DefaultUserSettings")
        groups = user_settings.get("SecurityGroups") if isinstance(user_settings, dict) else None
        # The default, PublicInternetOnly, gives every app SageMaker-managed internet access.
        ok = (properties.get("AppNetworkAccessType") == "VpcOnly"
              and _is_set(properties.get("VpcId"))
              and _is_non_empty_list(properties.get("SubnetIds"))
              and _is_non_empty_list(groups))
        return CheckResult.PASSED if ok else CheckResult.FAILED

    def get_evaluated_keys(self):
        return ["Properties/AppNetworkAccessType", "Properties/VpcId", "Properties/SubnetIds",
                "Properties/DefaultUserSettings/SecurityGroups"]


NotebookRootAccessDisabled()
NotebookDirectInternetAccessDisabled()
NotebookInVpc()
DomainVpcOnly()
