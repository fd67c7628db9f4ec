"""One object per lab: the mode, the SageMaker clients, images, training, data and cleanup.

The notebook code is the same in both modes; only what this object hands out differs:
  local: SageMaker local mode (jobs and endpoints are containers on this machine), a fake role,
         local paths for data and models, locally built images.
  aws:   boto3 clients for the real service, your execution role, S3 for data and models,
         images pushed to Amazon ECR.
"""
import contextlib
import io
import json
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

from . import docker_run, engine, images, mode as modes, paths, results
from .cleanup import NAME_KEYS, SESSION_LABEL, STATUS_KEYS, Cleanup, workshop_tags

# Local mode needs no account; a role ARN is still part of the API, so use one that is plainly fake.
FAKE_ROLE = "arn:aws:iam::111122223333:role/service-role/LocalModeFakeRole"
DEFAULT_REGION = "us-east-1"
SDK_CONFIG = Path(__file__).with_name("sagemaker_config.yaml")
S3_PREFIX = "sagemaker-workshop"  # every object a lab writes to S3 lives under this prefix of the default bucket
# In Studio, local mode publishes no port: the endpoint container listens on 8080 in the app's own
# network namespace, and the SDK health-checks localhost:<serving_port>, so the two must agree.
STUDIO_SERVING_PORT = 8080


class AwsModeUnavailable(RuntimeError):
    """aws mode cannot start here: the message says what is missing and how to fix it."""


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


def _forgetting_deleted_endpoints(client):
    """SDK local mode's DeleteEndpoint stops the endpoint's container but keeps the endpoint in its table, so
    a second delete (cleanup after the notebook's own call) stops it again and fails on the folder the first
    one removed. The service forgets a deleted endpoint: local mode forgets it too."""
    delete = client.delete_endpoint

    def delete_endpoint(EndpointName):
        delete(EndpointName=EndpointName)
        type(client)._endpoints.pop(EndpointName, None)

    client.delete_endpoint = delete_endpoint
    return client


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
        self.session_id = self.run_root.name
        # On every resource a lab creates in aws mode, so an account can be swept after an event.
        self.tags = workshop_tags(lab, self.session_id)
        self.run_root.mkdir(parents=True)
        self._local_logs = {}  # local training jobs: container root -> what the job printed
        self._uploads = {}  # aws mode: key prefix -> uploads to it so far (each upload gets its own key)
        if self.mode == "local":
            self._connect_local(region)
        else:
            self._connect_aws(region)
        self.cleanup = Cleanup(self.sagemaker_client, local_root=self.run_root, session_id=self.session_id, say=say)

    def _connect_local(self, region):
        _quiet_local_mode()
        from sagemaker.core.local import LocalSession

        self.region = region or os.environ["AWS_DEFAULT_REGION"]
        session = LocalSession()
        endpoints_root = self.run_root / "endpoints"
        endpoints_root.mkdir()
        # Local mode serves every endpoint on one host port: take a free one, not always 8080. In Studio
        # nothing is published and the container listens on 8080 itself (see STUDIO_SERVING_PORT).
        self.serving_port = docker_run.free_port() if engine.rules().publish_ports else STUDIO_SERVING_PORT
        # The label lets cleanup find this session's endpoint containers wherever the SDK put their
        # files (in Studio it moves container_root to ~/tmp).
        container_config = {"labels": {SESSION_LABEL: self.session_id}}
        if engine.rules().publish_ports:
            # Lets a job's container reach an endpoint's published port on this host (local_endpoints()).
            container_config["extra_hosts"] = ["host.docker.internal:host-gateway"]
        session.config = {"local": {"local_code": True, "container_root": str(endpoints_root),
                                    "serving_port": self.serving_port, "container_config": container_config}}
        self._sm_session = session
        self.sagemaker_client = _forgetting_deleted_endpoints(session.sagemaker_client)
        self.runtime_client = session.sagemaker_runtime_client
        self.role = FAKE_ROLE

    def _connect_aws(self, region):
        import boto3
        from sagemaker.core.helper.session_helper import Session

        boto_session = boto3.Session(region_name=region) if region else boto3.Session()
        _check_aws_mode(boto_session)
        self.region = boto_session.region_name
        self._sm_session = Session(boto_session=boto_session, default_bucket_prefix=S3_PREFIX)
        self.sagemaker_client = boto_session.client("sagemaker")
        self.runtime_client = boto_session.client("sagemaker-runtime")
        self.role = _execution_role(self._sm_session)

    def __repr__(self):
        return f"LabSession(lab={self.lab!r}, mode={self.mode!r}, region={self.region!r}, role={self.role!r})"

    # ---- images ---------------------------------------------------------------------------------
    def image(self, container):
        """Build containers/CONTAINER here; in aws mode also push it to ECR. Returns the image URI."""
        tag = images.build(container, say=self.say)
        if self.mode == "local":
            return tag
        return images.push_to_ecr(container, self.region, tags=self.tags, local_image=tag, say=self.say)

    def local_twin(self, *uris):
        """After `image_uris.retrieve(...)`: local mode builds the workshop's twin of each AWS image URI
        (containers/, see images.twin_of) and tags it with that URI, so local mode runs it and never pulls.
        aws mode does nothing: AWS's image is there."""
        if self.mode == "local":
            for uri in uris:
                images.build(images.twin_of(uri), extra_tags=[uri], say=self.say)

    def own_copy_on_aws(self, uri, container):
        """For an AWS image an account may not be allowed to pull (Clarify's, closed to new customers): local
        mode runs the twin under URI (local_twin); aws mode builds containers/CONTAINER, pushes it to your
        ECR and returns that URI instead."""
        if self.mode == "local":
            self.local_twin(uri)
            return uri
        return self.image(container)

    def aws_image(self, framework, version, **retrieve_args):
        """The URI of an AWS-managed image (a built-in algorithm, a framework container) for this region.

        aws mode uses AWS's image. Local mode builds the workshop's twin of it (containers/, see
        images.build_twin), tagged with that same URI, so the notebook's code is the same in both modes.
        """
        uri = images.aws_image_uri(framework, self.region, version, **retrieve_args)
        if self.mode == "local":
            images.build_twin(framework, version, self.region, say=self.say, **retrieve_args)
        return uri

    def instance_type(self, aws_instance_type):
        """The instance type to ask for: 'local' in local mode, the given ml.* type on AWS."""
        return "local" if self.mode == "local" else aws_instance_type

    # ---- data and models --------------------------------------------------------------------------
    def upload(self, local_path, key_prefix):
        """Local mode reads the path as it is; aws mode copies it to the session's default bucket.

        Every upload gets a key of its own: under this session's id (learners sharing an account never
        overwrite each other), and a second upload to the same KEY_PREFIX in one session is numbered
        (Lab 02's v2 archive must not replace v1's, which an endpoint still serves).
        """
        if self.mode == "local":
            return str(Path(local_path).resolve())
        self._ensure_default_bucket()
        count = self._uploads[key_prefix] = self._uploads.get(key_prefix, 0) + 1
        key = f"{self.lab}/{self.session_id}/{key_prefix}" + (f"-{count}" if count > 1 else "")
        # The session puts S3_PREFIX in front; the objects carry the workshop's tags too.
        return self._sm_session.upload_data(str(local_path), key_prefix=key,
                                            extra_args={"Tagging": urlencode({t["Key"]: t["Value"] for t in self.tags})})

    def _ensure_default_bucket(self):
        """The session's default bucket, created if this account has none yet.

        With a key prefix set, sagemaker-core probes the bucket with ListObjectsV2, whose NoSuchBucket
        answer it does not take as "create it" (only HeadBucket's 404); a session without the prefix does.
        """
        from botocore.exceptions import ClientError
        from sagemaker.core.helper.session_helper import Session

        try:
            return self._sm_session.default_bucket()
        except ClientError as err:
            if err.response["Error"]["Code"] != "NoSuchBucket":
                raise
        self.say(f"creating the SageMaker default bucket for {self.region}")
        Session(boto_session=self._sm_session.boto_session).default_bucket()
        return self._sm_session.default_bucket()

    def model_data(self, model_tar_gz):
        """A ModelDataUrl for CreateModel from a local model.tar.gz.

        aws mode uploads the archive to S3; SageMaker unpacks it into /opt/ml/model. Local mode would mount
        the archive's folder with the archive itself still in it, which a container that loads every file
        there (the built-in XGBoost does) cannot read. So the archive is unpacked here, into a folder of its
        own, and local mode is given that folder: /opt/ml/model then holds what it holds on SageMaker.
        """
        if self.mode == "aws":
            return self.upload(model_tar_gz, "models")
        folder = self.run_root / "models" / unique_name("model")
        folder.mkdir(parents=True)
        with tarfile.open(model_tar_gz) as archive:
            archive.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        return folder.as_uri()

    def add_code_to_model(self, model_data, code_files):
        """A new ModelDataUrl: the model MODEL_DATA points at, plus CODE_FILES under code/ (where the framework
        serving containers look for inference.py). What the SDK calls repacking; the original stays as it is."""
        from . import model_archive

        with tempfile.TemporaryDirectory() as scratch:
            unpacked = Path(scratch) / "model"
            if model_data.startswith("file://"):
                shutil.copytree(Path(model_data.removeprefix("file://")), unpacked)
            else:  # s3://.../model.tar.gz
                self._download(model_data.rsplit("/", 1)[0] + "/", Path(scratch) / "download")
                with tarfile.open(Path(scratch) / "download" / model_data.rsplit("/", 1)[1]) as archive:
                    archive.extractall(unpacked, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
            (unpacked / "code").mkdir(exist_ok=True)
            for path in map(Path, code_files):
                shutil.copy(path, unpacked / "code" / path.name)
            archive = model_archive.package(Path(scratch) / "model.tar.gz",
                                            [p for p in unpacked.iterdir() if p.name != "code"],
                                            sorted((unpacked / "code").iterdir()))
            return self.model_data(archive)

    # ---- training ---------------------------------------------------------------------------------
    # What a ModelTrainer(...) cell takes from the lab, so that the cell is the same in both modes.
    @property
    def training_mode(self):
        """sagemaker.train.model_trainer.Mode: LOCAL_CONTAINER (a container here) or SAGEMAKER_TRAINING_JOB."""
        from sagemaker.train.model_trainer import Mode

        return Mode.LOCAL_CONTAINER if self.mode == "local" else Mode.SAGEMAKER_TRAINING_JOB

    @property
    def sagemaker_session(self):
        """ModelTrainer(sagemaker_session=...): on AWS the Session jobs run through, whose default bucket (made
        here if the account has none) keeps every output under the workshop's S3 prefix. None in local mode:
        a local job given a session copies that session's AWS credentials into its containers, and these
        jobs read local folders (the SDK makes a session itself for a channel on S3)."""
        if self.mode == "local":
            return None
        self._ensure_default_bucket()
        return self._sm_session

    @property
    def sdk_tags(self):
        """The workshop's tags as the SDK's Tag objects (ModelTrainer(tags=...))."""
        from sagemaker.core.shapes import Tag

        return [Tag(key=t["Key"], value=t["Value"]) for t in self.tags]

    def job_folder(self, base_job_name):
        """ModelTrainer(local_container_root=...): where local mode puts a job's /opt/ml (the SDK's default
        is the notebook's folder). A fresh folder under this session's run root; the service ignores it."""
        root = self.run_root / "training" / unique_name(base_job_name or "job")
        root.mkdir(parents=True)
        return str(root)

    def require_aws(self, what):
        """Refuse, with the fix, a step only the service has (a tuning job, say) when running in local mode."""
        if self.mode == "local":
            raise ValueError(f"{what} needs MODE = \"aws\": SageMaker local mode has none. Set the parameter that "
                             "asked for it back to False, or run the lab in aws mode.")

    @property
    def multi_instance_jobs(self):
        """Whether a job here may ask for more than one instance: always on AWS and in local mode on a Docker
        engine of your own; not in a SageMaker Studio app, whose local mode runs one instance (the SDK refuses more)."""
        return not (self.mode == "local" and modes.in_studio_app())

    def model_trainer(self, image, hyperparameters=None, base_job_name=None, instance_type="ml.m5.large",
                      instance_count=1, environment=None, source_code=None, distributed=None):
        """The ModelTrainer(...) a lab writes out the first time, for later jobs of the same lab.

        SOURCE_CODE (a SourceCode) and DISTRIBUTED (e.g. Torchrun) are script mode's: passed on as they are.
        """
        from sagemaker.core.training.configs import Compute
        from sagemaker.train.model_trainer import ModelTrainer

        if instance_count > 1 and not self.multi_instance_jobs:
            raise ValueError("SageMaker Studio runs local mode on one instance only (the SDK refuses more): "
                             "use instance_count=1 here, or MODE = \"aws\" for a multi-instance job")
        return ModelTrainer(training_image=image, hyperparameters=hyperparameters or {}, base_job_name=base_job_name,
                            environment=environment or {}, role=self.role, training_mode=self.training_mode,
                            sagemaker_session=self.sagemaker_session, tags=self.sdk_tags,
                            local_container_root=self.job_folder(base_job_name),
                            compute=Compute(instance_type=self.instance_type(instance_type),
                                            instance_count=instance_count),
                            **{k: v for k, v in (("source_code", source_code), ("distributed", distributed)) if v})

    def train_input(self, channel, local_path, content_type=None):
        """A training channel. CONTENT_TYPE reaches the container in inputdataconfig.json: the built-in
        algorithms read it (XGBoost takes a channel without one for libsvm)."""
        from sagemaker.core.training.configs import InputData

        extra = {"content_type": content_type} if content_type else {}
        return InputData(channel_name=channel, data_source=self.upload(local_path, f"data/{channel}"), **extra)

    @contextlib.contextmanager
    def training_job(self, trainer):
        """`with lab.training_job(trainer): trainer.train(...)` -- what the lab does around a job:

        - local mode streams the container's output and keeps none of it: a copy is kept for training_log()
          (on AWS the log is in CloudWatch Logs);
        - in aws mode the job goes on the cleanup list even when the wait is interrupted (a stopped kernel
          then stops the job too);
        - a failed job raises TrainingFailed with the job's FailureReason.
        """
        try:
            with (_Tee() if self.mode == "local" else contextlib.nullcontext()) as log:
                try:
                    yield trainer
                finally:
                    if log is not None:
                        self._local_logs[trainer.local_container_root] = log.getvalue()
                    job = None if self.mode == "local" else getattr(trainer, "_latest_training_job", None)
                    if job is not None:
                        self.cleanup.add("training_job", job.training_job_name)
        except KeyboardInterrupt:
            raise
        except Exception as err:
            raise TrainingFailed(self._failure_reason(trainer) or str(err)) from err

    def fit(self, trainer, inputs):
        """trainer.train(...) inside training_job(); returns the ModelDataUrl of what it trained."""
        with self.training_job(trainer):
            trainer.train(input_data_config=list(inputs))
        return self.trained_model_data(trainer)

    def training_log(self, trainer):
        """The text the trainer's last job printed: kept by fit() locally, read from CloudWatch Logs on AWS."""
        if self.mode == "local":
            return self._local_logs.get(trainer.local_container_root, "")
        logs = self._sm_session.boto_session.client("logs")
        group, job = "/aws/sagemaker/TrainingJobs", trainer._latest_training_job.training_job_name
        lines = []
        for stream in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{job}/")["logStreams"]:
            request = {"logGroupName": group, "logStreamName": stream["logStreamName"], "startFromHead": True}
            while True:
                page = logs.get_log_events(**request)
                lines += [event["message"] for event in page["events"]]
                if not page["events"] or page["nextForwardToken"] == request.get("nextToken"):
                    break
                request["nextToken"] = page["nextForwardToken"]
        return "\n".join(lines)

    def training_metrics(self, trainer):
        """Metrics of the trainer's last job from its log, a DataFrame: one row per boosting round for
        XGBoost (metrics.per_round), else one per epoch of the labs' scripts (metrics.per_epoch)."""
        from . import metrics

        log = self.training_log(trainer)
        rounds = metrics.per_round(log)
        return rounds if not rounds.empty else metrics.per_epoch(log)

    def _failure_reason(self, trainer):
        """The job's FailureReason. SageMaker keeps "the first 1024 characters" of /opt/ml/output/failure
        (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html), so local
        mode cuts the file there too: what a container writes after that is only in the job's log."""
        if self.mode == "local":
            failure = Path(trainer.local_container_root) / "artifacts" / "output" / "failure"
            return failure.read_text()[:1024] if failure.exists() else None
        job = trainer._latest_training_job
        return getattr(job, "failure_reason", None) if job else None

    def model_files(self, model_data):
        """The files (relative paths, sorted) of the model MODEL_DATA points at: what the inference container
        finds in /opt/ml/model. A local folder is listed; an s3://.../model.tar.gz is downloaded and its
        archive listed."""
        if model_data.startswith("file://"):
            folder = Path(model_data.removeprefix("file://"))
            return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        folder = self.download(model_data.rsplit("/", 1)[0] + "/")
        with tarfile.open(folder / model_data.rsplit("/", 1)[1]) as archive:
            return sorted(member.name.removeprefix("./") for member in archive.getmembers() if member.isfile())

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
    def deploy(self, image, model_data, name, instance_type="ml.m5.large", environment=None):
        """CreateModel -> CreateEndpointConfig -> CreateEndpoint (each tagged and on the cleanup list first),
        then wait until it is InService; returns the endpoint's name. The three calls Labs 01-04 write out."""
        sm = self.sagemaker_client
        model_name = self.cleanup.add("model", unique_name(name))
        sm.create_model(ModelName=model_name, ExecutionRoleArn=self.role, Tags=self.tags,
                        PrimaryContainer={"Image": image, "ModelDataUrl": model_data,
                                          "Environment": dict(environment or {})})
        config_name = self.cleanup.add("endpoint_config", unique_name(name))
        sm.create_endpoint_config(EndpointConfigName=config_name, Tags=self.tags, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": model_name,
            "InstanceType": self.instance_type(instance_type), "InitialInstanceCount": 1}])
        endpoint_name = self.cleanup.add("endpoint", unique_name(name))
        sm.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=self.tags)
        self.wait_for_endpoint(endpoint_name)
        return endpoint_name

    def wait_for_endpoint(self, name, timeout=1800, poll_seconds=15):
        """Wait until the endpoint is InService, showing its status; fail with its reason."""
        return self._wait(f"endpoint {name}", lambda: self.sagemaker_client.describe_endpoint(EndpointName=name),
                          "EndpointStatus", done="InService", failed=("Failed",), timeout=timeout,
                          poll_seconds=poll_seconds)

    def _wait(self, what, describe, status_key, done, failed, timeout, poll_seconds):
        """Poll DESCRIBE until its STATUS_KEY is DONE, saying each new status; raise on FAILED or timeout."""
        started, last = time.monotonic(), None
        while True:
            description = describe()
            status = description[status_key]
            if status != last:
                self.say(f"{what}: {status} after {time.monotonic() - started:.0f} s")
                last = status
            if status == done:
                return description
            if status in failed:
                reason = description.get("FailureReason", "no reason given")
                # A processing job's ExitMessage is the first 1 KB of the container's /opt/ml/output/message:
                # its own account of what went wrong, often more than FailureReason says.
                exit_message = (description.get("ExitMessage") or "").strip()
                if exit_message and exit_message not in reason:
                    reason = f"{reason}; the container's message (ExitMessage): {exit_message}"
                raise RuntimeError(f"{what} {status.lower()}: {reason}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{what} not {done} after {timeout} s (status {status})")
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

    # ---- where a job reads and writes (the S3Uri / S3OutputPath of the job APIs) --------------------------
    def input_uri(self, local_path, key_prefix):
        """An input S3Uri: LOCAL_PATH as a file:// URI in local mode (its SDK reads those), uploaded to S3 in
        aws mode (a key of its own under KEY_PREFIX, see upload)."""
        if self.mode == "local":
            return Path(local_path).resolve().as_uri()
        return self.upload(local_path, key_prefix)

    def output_uri(self, key_prefix):
        """An output S3OutputPath: a fresh local folder as a file:// URI in local mode; in aws mode a prefix of
        this session's in the default bucket. download() brings what a job wrote there to this machine."""
        if self.mode == "local":
            folder = self.run_root / key_prefix
            folder.mkdir(parents=True, exist_ok=True)
            return folder.as_uri()
        return f"s3://{self._ensure_default_bucket()}/{S3_PREFIX}/{self.lab}/{self.session_id}/{key_prefix}"

    def download(self, uri):
        """The local folder holding what is under URI (an output_uri): the folder itself in local mode."""
        if uri.startswith("file://"):
            return Path(uri.removeprefix("file://"))
        folder = self.run_root / "downloads" / unique_name("s3")
        folder.mkdir(parents=True)
        self._download(uri, folder)
        return folder

    def wait_for_job(self, kind, name, timeout=3600):
        """Wait for a transform_job / processing_job / training_job NAME to complete; raise with its reason
        when it fails or stops."""
        return self._wait_for_job(kind, name, timeout)

    def transform(self, model_name, input_path, content_type="text/csv", split_type="Line", accept=None,
                  strategy="MultiRecord", max_payload_mb=6, instance_type="ml.m5.large", timeout=3600):
        """The CreateTransformJob a lab writes out the first time: a batch transform job over the files in
        INPUT_PATH; waits for it and returns the local folder holding one `<input file>.out` per input file.

        The strategy is passed explicitly: left out, local mode copies the container's own answer
        ("MULTI_RECORD") and then rejects it, since it accepts only the API's spelling ("MultiRecord").
        """
        name = self.cleanup.add("transform_job", unique_name("transform"))
        source = self.input_uri(input_path, f"transform/{name}/input")
        destination = self.output_uri(f"transform/{name}/output")
        self.sagemaker_client.create_transform_job(
            TransformJobName=name, ModelName=model_name, BatchStrategy=strategy, MaxPayloadInMB=max_payload_mb,
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
                            "ContentType": content_type, "SplitType": split_type},
            TransformOutput={"S3OutputPath": destination, "AssembleWith": "Line", **({"Accept": accept} if accept else {})},
            TransformResources={"InstanceType": self.instance_type(instance_type), "InstanceCount": 1},
            Tags=self.tags)  # local mode takes and ignores them
        self._wait_for_job("transform_job", name, timeout)
        return self.download(destination)

    def process(self, image, inputs, outputs, environment=None, base_job_name="processing",
                instance_type="ml.m5.large", timeout=3600):
        """A processing job (CreateProcessingJob) running IMAGE's entrypoint; waits for it.

        INPUTS maps an input name to (local file or folder, path in the container), OUTPUTS an output name
        to its path in the container; returns {output name: local folder with what the job wrote there}.
        Local mode mounts the local paths; aws mode uploads the inputs to S3 first and downloads the outputs.
        """
        name = self.cleanup.add("processing_job", unique_name(base_job_name))
        results = {output: self.run_root / "processing" / name / output for output in outputs}
        for folder in results.values():
            folder.mkdir(parents=True)
        processing_inputs = []
        for input_name, (local_path, container_path) in inputs.items():
            source = (Path(local_path).resolve().as_uri() if self.mode == "local"
                      else self.upload(local_path, f"processing/{name}/input/{input_name}"))
            processing_inputs.append({"InputName": input_name, "S3Input": {
                "S3Uri": source, "LocalPath": container_path, "S3DataType": "S3Prefix", "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated"}})
        destinations = {output: (results[output].as_uri() if self.mode == "local" else
                                 f"s3://{self._ensure_default_bucket()}/{S3_PREFIX}/{self.lab}/processing/{name}/{output}")
                        for output in outputs}
        request = dict(
            ProcessingJobName=name, RoleArn=self.role, Environment=dict(environment or {}),
            AppSpecification={"ImageUri": image},
            ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": self.instance_type(instance_type),
                                                   "VolumeSizeInGB": 30}},
            ProcessingInputs=processing_inputs,
            ProcessingOutputConfig={"Outputs": [
                {"OutputName": output, "S3Output": {"S3Uri": destinations[output], "LocalPath": container_path,
                                                    "S3UploadMode": "EndOfJob"}}
                for output, container_path in outputs.items()]})
        if self.mode == "aws":
            request.update(Tags=self.tags, StoppingCondition={"MaxRuntimeInSeconds": timeout})
        try:
            self.sagemaker_client.create_processing_job(**request)
        except RuntimeError as err:  # local mode runs the job inside this call and raises when it fails
            raise RuntimeError(f"processing job {name} failed: {err}") from None
        self._wait_for_job("processing_job", name, timeout)
        if self.mode == "aws":
            for output, destination in destinations.items():
                self._download(destination, results[output])
        return results

    def _download(self, s3_uri, folder):
        """Every object under the S3_URI prefix into FOLDER, keeping the folders below the prefix."""
        bucket, _, prefix = s3_uri[len("s3://"):].partition("/")
        for key in self._sm_session.list_s3_files(bucket, prefix):
            self._sm_session.download_data(str(Path(folder) / Path(key).relative_to(prefix).parent), bucket, key)

    def local_endpoints(self, *endpoint_names):
        """JSON for a processing job's WORKSHOP_LOCAL_ENDPOINTS: {endpoint name: base URL} where a container
        of this session reaches local mode's endpoint. Local mode serves every endpoint on serving_port of
        the host (reached from a container as host.docker.internal); in Studio the containers share the
        app's network namespace, so it is localhost. An empty object in aws mode (the real service is there)."""
        if self.mode == "aws":
            return "{}"
        host = "host.docker.internal" if engine.rules().publish_ports else "localhost"
        return json.dumps({name: f"http://{host}:{self.serving_port}" for name in endpoint_names})

    def _wait_for_job(self, kind, name, timeout, poll_seconds=15):
        """Wait for a training/processing/transform job to complete; fail with its reason otherwise (for a
        processing job FailureReason and ExitMessage, see _wait)."""
        describe = getattr(self.sagemaker_client, f"describe_{kind}")
        return self._wait(f"{kind.replace('_', ' ')} {name}", lambda: describe(**{NAME_KEYS[kind]: name}),
                          STATUS_KEYS[kind], done="Completed", failed=("Failed", "Stopped"), timeout=timeout,
                          poll_seconds=poll_seconds)

    def client_arguments(self):
        """Command-line arguments that point labs' client scripts at this session's endpoints."""
        if self.mode == "local":
            return ["--local-port", str(self.serving_port)]
        return ["--region", self.region]

    def invoke(self, endpoint, body, content_type="text/csv", accept=None, custom_attributes=None):
        """InvokeEndpoint, returning the body as text; a container error raises InvocationError.

        CUSTOM_ATTRIBUTES reaches the container as the X-Amzn-SageMaker-Custom-Attributes header.
        The service raises ModelError for a container's 4xx/5xx; local mode returns it as a
        response. This makes both behave the same.
        """
        from botocore.exceptions import ClientError

        request = {"EndpointName": endpoint, "ContentType": content_type, "Body": body}
        if accept:
            request["Accept"] = accept
        if custom_attributes:
            request["CustomAttributes"] = custom_attributes
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

    def predict_scores(self, endpoint, features, chunk_rows=4000):
        """One float per row of FEATURES (a DataFrame) from an endpoint that answers one number per CSV line,
        sent in chunks well under the 6 MB request limit."""
        import numpy as np

        from .datasets import to_csv_body

        scores = []
        for start in range(0, len(features), chunk_rows):
            answer = self.invoke(endpoint, to_csv_body(features.iloc[start:start + chunk_rows]), accept="text/csv")
            scores += [float(line) for line in answer.splitlines() if line.strip()]
        return np.array(scores)

    # ---- results ----------------------------------------------------------------------------------
    def record(self, key_metric=None, **values):
        """Write the numbers CI checks to the lab's results file."""
        results.record(self.lab, key_metric=key_metric, mode=self.mode, **values)


class _Tee(io.StringIO):
    """`with _Tee() as log:` copies everything printed to stdout into LOG as well."""

    def __enter__(self):
        self._stdout, sys.stdout = sys.stdout, self
        return self

    def __exit__(self, *exc):
        sys.stdout = self._stdout

    def write(self, text):
        self._stdout.write(text)
        return super().write(text)

    def flush(self):
        self._stdout.flush()


def _check_aws_mode(boto_session):
    """Fail in seconds, with one sentence, when aws mode cannot work here."""
    missing = []
    if not boto_session.region_name:
        missing.append("no AWS region is set (set AWS_DEFAULT_REGION, e.g. us-east-1, or pass region= to start_lab)")
    if boto_session.get_credentials() is None:
        missing.append("no AWS credentials were found (in SageMaker Studio they come from the space's execution "
                       "role; elsewhere run `aws configure` or `aws sso login`, or set AWS_PROFILE)")
    if not engine.answers():
        missing.append("Docker does not answer (aws mode builds the lab's images with it before pushing them to "
                       "Amazon ECR; in Studio, Docker access must be enabled for the domain and the space restarted)")
    if missing:
        raise AwsModeUnavailable("aws mode cannot start: " + "; ".join(missing) +
                                 '. Fix that, or run the lab with MODE = "local" (no AWS account needed).')


def _execution_role(sm_session):
    """SAGEMAKER_ROLE_ARN, or the role SageMaker (Studio, a notebook instance) runs this code as."""
    from botocore.exceptions import BotoCoreError, ClientError
    from sagemaker.core.helper.session_helper import get_execution_role

    if os.environ.get("SAGEMAKER_ROLE_ARN"):
        return os.environ["SAGEMAKER_ROLE_ARN"]
    try:
        return get_execution_role(sm_session)
    except (ValueError, ClientError, BotoCoreError) as err:
        raise AwsModeUnavailable(
            "aws mode cannot start: no SageMaker execution role could be found for these credentials "
            f"({str(err).splitlines()[0][:200]}). Outside SageMaker, set SAGEMAKER_ROLE_ARN to the ARN of a role "
            'SageMaker may assume, or run the lab with MODE = "local".') from None


def start_lab(lab, mode="auto", region=None):
    session = LabSession(lab, mode=mode, region=region)
    session.say(f"lab {lab}: mode={session.mode}, region={session.region}")
    return session
