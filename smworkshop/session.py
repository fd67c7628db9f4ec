"""One object per lab: the mode, the SageMaker clients, images, training, data and cleanup.

The notebook code is the same in both modes; only what this object hands out differs:
  local: SageMaker local mode (jobs and endpoints are containers on this machine), a fake role,
         local paths for data and models, locally built images.
  aws:   boto3 clients for the real service, your execution role, S3 for data and models,
         images pushed to Amazon ECR.
"""
import logging
import os
import shutil
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

from . import docker_run, images, mode as modes, paths, results
from .cleanup import Cleanup

# Local mode needs no account; a role ARN is still part of the API, so use one that is plainly fake.
FAKE_ROLE = "arn:aws:iam::111122223333:role/service-role/LocalModeFakeRole"
DEFAULT_REGION = "us-east-1"
SDK_CONFIG = Path(__file__).with_name("sagemaker_config.yaml")


class InvocationError(RuntimeError):
    """The model container answered an invocation with an error (4xx/5xx) and a message."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


class TrainingFailed(RuntimeError):
    """A training job failed; the message is the job's failure reason (/opt/ml/output/failure)."""


def _quiet_local_mode():
    """Offline, the SDK's region lookup, metadata probes and telemetry can only fail noisily."""
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ.setdefault("SAGEMAKER_USER_CONFIG_OVERRIDE", str(SDK_CONFIG))
    logging.getLogger("sagemaker").setLevel(logging.WARNING)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # /ping retries while booting
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"sagemaker\..*")


def unique_name(prefix):
    """SageMaker names are unique per account and region: add a timestamp."""
    return f"{prefix}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S-%f}"[:63]


class LabSession:
    def __init__(self, lab, mode="auto", region=None, say=print):
        self.lab = lab
        self.mode = modes.resolve(mode)
        self.say = say
        self.workspace = paths.workspace(lab)
        # A fresh root per session: local mode never cleans its own folders.
        self.run_root = self.workspace / "runs" / unique_name("session")
        self.run_root.mkdir(parents=True)
        if self.mode == "local":
            self._connect_local(region)
        else:
            self._connect_aws(region)
        self.cleanup = Cleanup(self.sagemaker_client, local_root=self.run_root, say=say)

    def _connect_local(self, region):
        _quiet_local_mode()
        from sagemaker.core.local import LocalSession

        self.region = region or os.environ["AWS_DEFAULT_REGION"]
        session = LocalSession()
        endpoints_root = self.run_root / "endpoints"
        endpoints_root.mkdir()
        # Local mode serves every endpoint on one host port: take a free one, not always 8080.
        self.serving_port = docker_run.free_port()
        session.config = {"local": {"local_code": True, "container_root": str(endpoints_root),
                                    "serving_port": self.serving_port}}
        self._sm_session = session
        self.sagemaker_client = session.sagemaker_client
        self.runtime_client = session.sagemaker_runtime_client
        self.role = FAKE_ROLE

    def _connect_aws(self, region):
        import boto3
        from sagemaker.core.helper.session_helper import Session, get_execution_role

        boto_session = boto3.Session(region_name=region) if region else boto3.Session()
        self.region = boto_session.region_name
        self._sm_session = Session(boto_session=boto_session)
        self.sagemaker_client = boto_session.client("sagemaker")
        self.runtime_client = boto_session.client("sagemaker-runtime")
        self.role = os.environ.get("SAGEMAKER_ROLE_ARN") or get_execution_role(self._sm_session)

    def __repr__(self):
        return f"LabSession(lab={self.lab!r}, mode={self.mode!r}, region={self.region!r}, role={self.role!r})"

    # ---- images ---------------------------------------------------------------------------------
    def image(self, container):
        """Build containers/CONTAINER here; in aws mode also push it to ECR. Returns the image URI."""
        tag = images.build(container, say=self.say)
        if self.mode == "local":
            return tag
        return images.push_to_ecr(container, self.region, say=self.say)

    def instance_type(self, aws_instance_type):
        """The instance type to ask for: 'local' in local mode, the given ml.* type on AWS."""
        return "local" if self.mode == "local" else aws_instance_type

    # ---- data and models --------------------------------------------------------------------------
    def upload(self, local_path, key_prefix):
        """Local mode reads the path as it is; aws mode copies it to the session's default bucket."""
        if self.mode == "local":
            return str(Path(local_path).resolve())
        return self._sm_session.upload_data(str(local_path), key_prefix=f"sagemaker-workshop/{self.lab}/{key_prefix}")

    def model_data(self, model_tar_gz):
        """A ModelDataUrl for CreateModel from a local model.tar.gz.

        Local mode unpacks the archive next to itself and mounts that folder as /opt/ml/model,
        so the archive gets a folder of its own.
        """
        if self.mode == "aws":
            return self.upload(model_tar_gz, "models")
        folder = self.run_root / "models" / unique_name("model")
        folder.mkdir(parents=True)
        target = folder / "model.tar.gz"
        shutil.copy2(model_tar_gz, target)
        return target.as_uri()

    # ---- training ---------------------------------------------------------------------------------
    def model_trainer(self, image, hyperparameters=None, base_job_name=None, instance_type="ml.m5.large",
                      instance_count=1, environment=None):
        """A sagemaker.train.ModelTrainer: a local container job, or a real training job on AWS."""
        from sagemaker.core.training.configs import Compute
        from sagemaker.train.model_trainer import Mode, ModelTrainer

        common = dict(training_image=image, hyperparameters=hyperparameters or {}, base_job_name=base_job_name,
                      environment=environment or {})
        if self.mode == "local":
            root = self.run_root / "training" / unique_name(base_job_name or "job")
            root.mkdir(parents=True)
            return ModelTrainer(training_mode=Mode.LOCAL_CONTAINER, local_container_root=str(root),
                                compute=Compute(instance_type="local", instance_count=instance_count), **common)
        return ModelTrainer(role=self.role, sagemaker_session=self._sm_session,
                            compute=Compute(instance_type=instance_type, instance_count=instance_count), **common)

    def train_input(self, channel, local_path):
        from sagemaker.core.training.configs import InputData

        return InputData(channel_name=channel, data_source=self.upload(local_path, f"data/{channel}"))

    def fit(self, trainer, inputs):
        """trainer.train(...), raising TrainingFailed with the job's own failure reason."""
        try:
            trainer.train(input_data_config=list(inputs))
        except Exception as err:
            raise TrainingFailed(self._failure_reason(trainer) or str(err)) from err
        return self.trained_model_data(trainer)

    def _failure_reason(self, trainer):
        if self.mode == "local":
            failure = Path(trainer.local_container_root) / "artifacts" / "output" / "failure"
            return failure.read_text().strip() if failure.exists() else None
        job = trainer._latest_training_job
        return getattr(job, "failure_reason", None) if job else None

    def trained_model_data(self, trainer):
        """The ModelDataUrl of the model the trainer's last job produced."""
        if self.mode == "local":
            # Local mode packs /opt/ml/model here but does not return the path.
            archive = Path(trainer.local_container_root) / "compressed_artifacts" / "model.tar.gz"
            if not archive.exists():
                raise FileNotFoundError(f"no model archive at {archive}: did training run?")
            return self.model_data(archive)
        return trainer._latest_training_job.model_artifacts.s3_model_artifacts

    # ---- hosting ----------------------------------------------------------------------------------
    def wait_for_endpoint(self, name, timeout=1800, poll_seconds=15):
        """Wait until the endpoint is InService, showing its status; fail with its reason."""
        started, last = time.monotonic(), None
        while True:
            description = self.sagemaker_client.describe_endpoint(EndpointName=name)
            status = description["EndpointStatus"]
            if status != last:
                self.say(f"endpoint {name}: {status} after {time.monotonic() - started:.0f} s")
                last = status
            if status == "InService":
                return description
            if status == "Failed":
                raise RuntimeError(f"endpoint {name} failed: {description.get('FailureReason')}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"endpoint {name} not InService after {timeout} s (status {status})")
            time.sleep(poll_seconds)

    def update_endpoint(self, name, config_name):
        """Point a running endpoint at a new endpoint config.

        AWS: UpdateEndpoint, which starts the new config's instances, shifts traffic, then removes the
        old ones (no downtime). Local mode has no UpdateEndpoint: the endpoint is deleted and created
        again under the same name, so it is briefly unavailable.
        """
        if self.mode == "aws":
            self.sagemaker_client.update_endpoint(EndpointName=name, EndpointConfigName=config_name)
            time.sleep(5)  # the status turns Updating only after the call returns
        else:
            self.say("local mode has no UpdateEndpoint: deleting and re-creating the endpoint")
            self.sagemaker_client.delete_endpoint(EndpointName=name)
            self.cleanup.remove_local_containers()
            self.sagemaker_client.create_endpoint(EndpointName=name, EndpointConfigName=config_name)
        return self.wait_for_endpoint(name)

    def client_arguments(self):
        """Command-line arguments that point labs' client scripts at this session's endpoints."""
        if self.mode == "local":
            return ["--local-port", str(self.serving_port)]
        return ["--region", self.region]

    def invoke(self, endpoint, body, content_type="text/csv", accept=None):
        """InvokeEndpoint, returning the body as text; a container error raises InvocationError.

        The service raises ModelError for a container's 4xx/5xx; local mode returns it as a
        response. This makes both behave the same.
        """
        from botocore.exceptions import ClientError

        request = {"EndpointName": endpoint, "ContentType": content_type, "Body": body}
        if accept:
            request["Accept"] = accept
        try:
            response = self.runtime_client.invoke_endpoint(**request)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ModelError":
                raise
            raise InvocationError(err.response.get("OriginalStatusCode", 500),
                                  err.response.get("OriginalMessage", str(err)).strip()) from None
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 200)
        text = response["Body"].read().decode("utf-8")
        if status >= 400:
            raise InvocationError(status, text.strip())
        return text

    # ---- results ----------------------------------------------------------------------------------
    def record(self, key_metric=None, **values):
        """Write the numbers CI checks to the lab's results file."""
        results.record(self.lab, key_metric=key_metric, mode=self.mode, **values)


def start_lab(lab, mode="auto", region=None):
    session = LabSession(lab, mode=mode, region=region)
    session.say(f"lab {lab}: mode={session.mode}, region={session.region}")
    return session
