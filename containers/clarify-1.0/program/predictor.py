"""Getting predictions for post-training bias and SHAP: the `predictor` section of the config.

- `endpoint_name`: if the environment variable WORKSHOP_LOCAL_ENDPOINTS holds a JSON object mapping
  endpoint names to base URLs ({"my-endpoint": "http://host:8080"}), rows are POSTed to
  `<url>/invocations`: that is how the workshop hands a SageMaker local-mode endpoint to this container,
  which has no SageMaker service to ask. Otherwise InvokeEndpoint (boto3 `sagemaker-runtime`, the job's
  role and region).
- `model_name` + `instance_type` + `initial_instance_count`: as Clarify does, a temporary ("shadow")
  endpoint config and endpoint are made from the model (CreateEndpointConfig, CreateEndpoint), used, and
  always deleted, also when the analysis fails (DeleteEndpoint, DeleteEndpointConfig). The docs:
  "instance_type – Instance type for the shadow endpoint", "endpoint_name_prefix – a custom prefix to the
  name of the temporary endpoint"
  (https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-configure-analysis.html).
"""
import contextlib
import json
import os
import time
import uuid

from content_types import batches, decode, encode_rows
from errors import ModelError, UserError

LOCAL_ENDPOINTS_VARIABLE = "WORKSHOP_LOCAL_ENDPOINTS"


def local_endpoints(environ=None):
    """The WORKSHOP_LOCAL_ENDPOINTS mapping, or None when the variable is unset or empty."""
    raw = (environ if environ is not None else os.environ).get(LOCAL_ENDPOINTS_VARIABLE, "").strip()
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as err:
        raise UserError(f"{LOCAL_ENDPOINTS_VARIABLE} is not JSON ({err}); it must map endpoint names to URLs, "
                        'e.g. {"my-endpoint": "http://algo-1-abcde:8080"}') from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) and v.startswith(("http://", "https://"))
                                                for v in mapping.values()):
        raise UserError(f"{LOCAL_ENDPOINTS_VARIABLE} must be a JSON object mapping endpoint names to http(s) URLs, "
                        f"not {raw[:200]}")
    return mapping


class UrlEndpoint:
    """A serving container reached over HTTP: POST <url>/invocations (the SageMaker container contract)."""

    def __init__(self, name, url, session=None):
        import requests

        self.name, self.url = name, url.rstrip("/")
        self.session = session or requests.Session()

    def invoke(self, body, content_type, accept, custom_attributes=None, target_model=None):
        import requests

        headers = {"Content-Type": content_type, "Accept": accept}
        if custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        if target_model:
            headers["X-Amzn-SageMaker-Target-Model"] = target_model
        try:
            response = self.session.post(f"{self.url}/invocations", data=body, headers=headers, timeout=600)
        except requests.RequestException as err:
            raise UserError(f"cannot reach endpoint {self.name!r} at {self.url} ({LOCAL_ENDPOINTS_VARIABLE}): {err}") from None
        if response.status_code != 200:
            raise ModelError(f"endpoint {self.name!r} at {self.url} answered {response.status_code}: "
                            f"{response.text[:300]}")
        return response.content


class SageMakerEndpoint:
    """A SageMaker endpoint reached with InvokeEndpoint."""

    def __init__(self, name, runtime_client):
        self.name, self.runtime = name, runtime_client

    def invoke(self, body, content_type, accept, custom_attributes=None, target_model=None):
        from botocore.exceptions import BotoCoreError, ClientError

        args = {"EndpointName": self.name, "Body": body, "ContentType": content_type, "Accept": accept}
        if custom_attributes:
            args["CustomAttributes"] = custom_attributes
        if target_model:
            args["TargetModel"] = target_model
        try:
            return self.runtime.invoke_endpoint(**args)["Body"].read()
        except ClientError as err:  # the service or the model said no: ModelError, throttling, payload size
            raise ModelError(f"InvokeEndpoint {self.name!r} failed: {err}") from None
        except BotoCoreError as err:  # no credentials, no connection, ...
            raise UserError(f"InvokeEndpoint {self.name!r} failed: {err}") from None


def _name(prefix):
    # Endpoint names: at most 63 characters, ^[a-zA-Z0-9](-*[a-zA-Z0-9])* (CreateEndpoint API reference).
    suffix = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"
    return f"{(prefix or 'sm-clarify').rstrip('-')[:63 - len(suffix) - 1]}-{suffix}"


@contextlib.contextmanager
def shadow_endpoint(sagemaker_client, model_name, instance_type, instance_count, prefix=None, say=print,
                    poll_seconds=30, timeout_seconds=3600):
    """A temporary endpoint serving MODEL_NAME; its endpoint and endpoint config are deleted on the way out,
    whatever happened."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = _name(prefix)
    config_made = endpoint_made = False
    step = "CreateEndpointConfig"
    try:
        say(f"creating the temporary endpoint {name} for model {model_name} ({instance_count} x {instance_type})")
        sagemaker_client.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": model_name,
                                 "InitialInstanceCount": instance_count, "InstanceType": instance_type}])
        config_made, step = True, "CreateEndpoint"
        sagemaker_client.create_endpoint(EndpointName=name, EndpointConfigName=name)
        endpoint_made, step = True, "DescribeEndpoint"
        deadline = time.monotonic() + timeout_seconds
        while True:
            described = sagemaker_client.describe_endpoint(EndpointName=name)
            status = described["EndpointStatus"]
            if status == "InService":
                break
            if status in ("Failed", "OutOfService", "Deleting"):
                raise UserError(f"the temporary endpoint {name} for model {model_name} is {status}: "
                                f"{described.get('FailureReason', 'no reason given')}")
            if time.monotonic() > deadline:
                raise UserError(f"the temporary endpoint {name} was not InService after {timeout_seconds} s")
            say(f"waiting for the temporary endpoint {name}: {status}")
            time.sleep(poll_seconds)
        say(f"the temporary endpoint {name} is InService")
    except (ClientError, BotoCoreError) as err:  # the job's role, a quota, the model: the user's to fix
        raise UserError(f"{step} for the temporary endpoint {name} (model {model_name}) failed: {err}") from None
    else:
        yield name
    finally:
        problems = []
        if endpoint_made:
            try:
                sagemaker_client.delete_endpoint(EndpointName=name)
                say(f"deleted the temporary endpoint {name}")
            except Exception as err:  # keep going: the config must go too, and the first error matters more
                problems.append(f"DeleteEndpoint {name}: {err}")
        if config_made:
            try:
                sagemaker_client.delete_endpoint_config(EndpointConfigName=name)
                say(f"deleted the temporary endpoint config {name}")
            except Exception as err:
                problems.append(f"DeleteEndpointConfig {name}: {err}")
        for problem in problems:
            say(f"WARNING: could not clean up: {problem}; delete it by hand")


def _boto_client(service):
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise UserError(f"no AWS region to call SageMaker in (AWS_REGION is unset; processing jobs on AWS set it). "
                        f"In local mode, hand the endpoint to the job with {LOCAL_ENDPOINTS_VARIABLE}")
    return boto3.client(service, region_name=region)


@contextlib.contextmanager
def connect(predictor, say=print, environ=None, client=_boto_client):
    """An object with .invoke(body, content_type, accept, ...) for PREDICTOR, cleaned up on exit."""
    mapping = local_endpoints(environ)
    if "endpoint_name" in predictor:
        name = predictor["endpoint_name"]
        if mapping is not None:
            if name not in mapping:
                raise UserError(f"endpoint {name!r} is not in {LOCAL_ENDPOINTS_VARIABLE} "
                                f"(it has: {', '.join(mapping) or 'nothing'})")
            say(f"calling endpoint {name!r} at {mapping[name]} (from {LOCAL_ENDPOINTS_VARIABLE})")
            yield UrlEndpoint(name, mapping[name])
        else:
            say(f"calling endpoint {name!r} with InvokeEndpoint")
            yield SageMakerEndpoint(name, client("sagemaker-runtime"))
        return
    if mapping is not None:
        raise UserError(f"predictor.model_name needs the SageMaker service to make a temporary endpoint; with "
                        f"{LOCAL_ENDPOINTS_VARIABLE} set (local mode) start an endpoint and give `endpoint_name`")
    with shadow_endpoint(client("sagemaker"), predictor["model_name"], predictor["instance_type"],
                         predictor["initial_instance_count"], predictor.get("endpoint_name_prefix"), say) as name:
        yield SageMakerEndpoint(name, client("sagemaker-runtime"))


class Model:
    """Rows in, ModelOutput out, through an endpoint; counts requests for the log.

    A batch the model rejects (an error answer, or an answer that does not fit the rows) is asked again
    one row per request, as Clarify does: "Fallback to per-record prediction because of model error"
    (developer guide, clarify-processing-job-run-troubleshooting). A row the model rejects on its own
    fails the job."""

    def __init__(self, endpoint, predictor, say=print):
        self.endpoint, self.predictor, self.say = endpoint, predictor, say
        self.requests = 0
        self.fallbacks = 0  # batches asked again row by row

    def _ask(self, body, rows):
        p = self.predictor
        answer = self.endpoint.invoke(body, p["content_type"], p["accept_type"],
                                      p.get("custom_attributes"), p.get("target_model"))
        self.requests += 1
        return decode(answer, p["accept_type"], rows, p.get("label"), p.get("probability"))

    def _ask_per_record(self, start, lines, error):
        if not self.fallbacks:
            self.say(f"Fallback to per-record prediction because of model error: {error}")
        self.fallbacks += 1
        outputs = []
        for offset, line in enumerate(lines):
            try:
                outputs.append(self._ask(line.encode() + b"\n", 1))
            except ModelError as err:
                raise ModelError(f"the model rejected a batch of rows ({error}) and then row {start + offset} "
                                 f"on its own: {err}") from None
        return outputs

    def predict_lines(self, lines, progress=None):
        """LINES: CSV lines of feature values. Returns ModelOutput for all of them, in order."""
        import numpy as np

        from content_types import ModelOutput

        p = self.predictor
        request_lines = encode_rows(lines, p["content_type"], p.get("content_template"))
        labels, scores = [], []
        done = 0
        for start, rows, body in batches(request_lines):
            try:
                outputs = [self._ask(body, rows)]
            except ModelError as err:
                if rows == 1:
                    raise
                outputs = self._ask_per_record(start, request_lines[start:start + rows], err)
            for out in outputs:
                if out.labels is not None:
                    labels.extend(out.labels)
                if out.scores is not None:
                    scores.append(out.scores)
            done += rows
            if progress:
                progress(done, len(lines))
        return ModelOutput(labels=labels if "label" in p else None,
                           scores=np.concatenate(scores) if scores else None)
