"""From a SageMaker API request to the IAM request context the guard rails are evaluated against.

SageMaker copies some request fields into condition keys before IAM decides. Which field feeds which
key is our model, written from the API reference (field meanings) and the Service Authorization
Reference (which keys each action supports):
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html

Rules of the model:
- a field that is absent from the request gives an absent key (no default is filled in; the policies
  are written so that "absent" and "the API default" get the same verdict, and the tests check it);
- sagemaker:VpcSubnets and sagemaker:VpcSecurityGroupIds are multivalued: always a list;
- booleans become the strings "true"/"false", as IAM compares them;
- KMS keys go into the ...KmsKeyArn keys unchanged. The Service Authorization Reference now lists
  sagemaker:VolumeKmsKeyArn / sagemaker:OutputKmsKeyArn on these actions; the older
  sagemaker:VolumeKmsKey / sagemaker:OutputKmsKey are deprecated and attached to no action.
  Give the key's full ARN in requests: an alias or bare key id will not equal the approved ARN.
"""

MULTIVALUED = {"sagemaker:VpcSubnets", "sagemaker:VpcSecurityGroupIds"}

_TRAINING = {
    "VpcConfig.Subnets": "sagemaker:VpcSubnets",
    "VpcConfig.SecurityGroupIds": "sagemaker:VpcSecurityGroupIds",
    "ResourceConfig.VolumeKmsKeyId": "sagemaker:VolumeKmsKeyArn",
    "OutputDataConfig.KmsKeyId": "sagemaker:OutputKmsKeyArn",
    "EnableNetworkIsolation": "sagemaker:NetworkIsolation",
    "EnableInterContainerTrafficEncryption": "sagemaker:InterContainerTrafficEncryption",
}

# action -> {dotted path in the request: condition key}
FIELD_TO_KEY = {
    "sagemaker:CreateTrainingJob": _TRAINING,
    # A tuning job launches training jobs from its definition, so the same fields one level down.
    "sagemaker:CreateHyperParameterTuningJob": {
        "TrainingJobDefinition." + path: key for path, key in _TRAINING.items()
    },
    "sagemaker:CreateProcessingJob": {
        "NetworkConfig.VpcConfig.Subnets": "sagemaker:VpcSubnets",
        "NetworkConfig.VpcConfig.SecurityGroupIds": "sagemaker:VpcSecurityGroupIds",
        "ProcessingResources.ClusterConfig.VolumeKmsKeyId": "sagemaker:VolumeKmsKeyArn",
        "ProcessingOutputConfig.KmsKeyId": "sagemaker:OutputKmsKeyArn",
        "NetworkConfig.EnableNetworkIsolation": "sagemaker:NetworkIsolation",
        "NetworkConfig.EnableInterContainerTrafficEncryption": "sagemaker:InterContainerTrafficEncryption",
    },
    # The model carries the network settings its endpoints and transform jobs run with.
    "sagemaker:CreateModel": {
        "VpcConfig.Subnets": "sagemaker:VpcSubnets",
        "VpcConfig.SecurityGroupIds": "sagemaker:VpcSecurityGroupIds",
        "EnableNetworkIsolation": "sagemaker:NetworkIsolation",
    },
    "sagemaker:CreateEndpointConfig": {
        "KmsKeyId": "sagemaker:VolumeKmsKeyArn",
    },
    "sagemaker:CreateNotebookInstance": {
        "SubnetId": "sagemaker:VpcSubnets",  # one subnet, but the key is a list
        "SecurityGroupIds": "sagemaker:VpcSecurityGroupIds",
        "KmsKeyId": "sagemaker:VolumeKmsKeyArn",
        "RootAccess": "sagemaker:RootAccess",
        "DirectInternetAccess": "sagemaker:DirectInternetAccess",
    },
    "sagemaker:UpdateNotebookInstance": {
        "RootAccess": "sagemaker:RootAccess",
    },
    "sagemaker:CreateDomain": {
        "SubnetIds": "sagemaker:VpcSubnets",
        "DefaultUserSettings.SecurityGroups": "sagemaker:VpcSecurityGroupIds",
        "KmsKeyId": "sagemaker:VolumeKmsKeyArn",  # the key of the domain's shared EFS volume
        "AppNetworkAccessType": "sagemaker:AppNetworkAccessType",
    },
    "sagemaker:UpdateDomain": {
        "AppNetworkAccessType": "sagemaker:AppNetworkAccessType",
    },
    "sagemaker:CreateUserProfile": {
        "UserSettings.SecurityGroups": "sagemaker:VpcSecurityGroupIds",
    },
    # These support none of the guard-rail keys: an endpoint runs with its model's network settings
    # and its config's KMS key; spaces and apps run in their domain's network.
    "sagemaker:CreateEndpoint": {},
    "sagemaker:CreateSpace": {},
    "sagemaker:CreateApp": {},
}

# Where the resource of each action lives (the ARN IAM authorizes), from the request's own names.
_RESOURCE = {
    "sagemaker:CreateTrainingJob": "training-job/{TrainingJobName}",
    "sagemaker:CreateHyperParameterTuningJob": "hyper-parameter-tuning-job/{HyperParameterTuningJobName}",
    "sagemaker:CreateProcessingJob": "processing-job/{ProcessingJobName}",
    "sagemaker:CreateModel": "model/{ModelName}",
    "sagemaker:CreateEndpointConfig": "endpoint-config/{EndpointConfigName}",
    "sagemaker:CreateEndpoint": "endpoint/{EndpointName}",
    "sagemaker:CreateNotebookInstance": "notebook-instance/{NotebookInstanceName}",
    "sagemaker:UpdateNotebookInstance": "notebook-instance/{NotebookInstanceName}",
    "sagemaker:CreateDomain": "domain/{DomainId}",
    "sagemaker:UpdateDomain": "domain/{DomainId}",
    "sagemaker:CreateUserProfile": "user-profile/{DomainId}/{UserProfileName}",
    "sagemaker:CreateSpace": "space/{DomainId}/{SpaceName}",
    "sagemaker:CreateApp": "app/{DomainId}/{SpaceName}/{AppType}/{AppName}",
}

# CreateDomain has no id yet when IAM decides; the ARN carries the id AWS is about to assign.
NEW_DOMAIN_ID = "d-newdomain0000"


def _lookup(request, dotted_path):
    value = request
    for part in dotted_path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _as_condition_value(key, value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if key in MULTIVALUED:
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return str(value)


def context_for(action, request):
    """The SageMaker condition keys that a request of this action puts in the request context."""
    if action not in FIELD_TO_KEY:
        raise KeyError(f"no field-to-key mapping for {action}")
    if action == "sagemaker:CreateHyperParameterTuningJob" and "TrainingJobDefinitions" in request:
        raise ValueError("tuning jobs with several TrainingJobDefinitions are not modelled here")
    context = {}
    for path, key in FIELD_TO_KEY[action].items():
        value = _lookup(request, path)
        if value is not None and value != []:
            context[key] = _as_condition_value(key, value)
    return context


def resource_arn(action, request, region, account):
    names = dict(request)
    names.setdefault("DomainId", NEW_DOMAIN_ID)
    return f"arn:aws:sagemaker:{region}:{account}:" + _RESOURCE[action].format(**names)
