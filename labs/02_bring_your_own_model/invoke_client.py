#!/usr/bin/env python3
"""Classify digit images with a deployed SageMaker endpoint, from any machine with boto3.

This is the modern stand-in for the Lambda function the original lab wired in front of its endpoint:
a client needs nothing but the runtime API's InvokeEndpoint (and IAM permission to call it).

    python invoke_client.py --endpoint NAME digit.png [more.png ...]              # the real service
    python invoke_client.py --endpoint NAME --local-port 8080 digit.png           # SageMaker local mode

Prints one line per image; exits 1 if any image was refused.
"""
import argparse
import json
import sys
from pathlib import Path

CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class EndpointError(RuntimeError):
    pass


def runtime_client(region=None, local_port=None):
    """boto3's sagemaker-runtime client, or SageMaker local mode's (same call shape) for a local endpoint."""
    if local_port:
        from sagemaker.core.local.local_session import LocalSagemakerRuntimeClient

        return LocalSagemakerRuntimeClient(config={"local": {"serving_port": int(local_port)}})
    import boto3

    return boto3.client("sagemaker-runtime", region_name=region)


def classify(runtime, endpoint, image_bytes, content_type="image/png"):
    """InvokeEndpoint with one image; returns the model's JSON answer as a dict."""
    from botocore.exceptions import ClientError

    try:
        response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType=content_type,
                                           Accept="application/json", Body=image_bytes)
    except ClientError as err:  # the service wraps a container's 4xx/5xx in ModelError
        raise EndpointError(err.response.get("OriginalMessage") or str(err)) from None
    body = response["Body"].read().decode("utf-8")
    if response.get("ResponseMetadata", {}).get("HTTPStatusCode", 200) >= 400:  # local mode passes them through
        raise EndpointError(body.strip())
    return json.loads(body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    parser.add_argument("--local-port", type=int, help="serving port of a SageMaker local-mode endpoint")
    args = parser.parse_args(argv)
    runtime = runtime_client(args.region, args.local_port)
    failures = 0
    for image in args.images:
        try:
            answer = classify(runtime, args.endpoint, image.read_bytes(),
                              CONTENT_TYPES.get(image.suffix.lower(), "application/x-image"))
            confidence = answer.get("confidence") or answer.get("probabilities", {}).get(answer["label"])
            print(f"{image.name}: {answer['label']} ({confidence:.3f})")
        except (EndpointError, OSError) as err:
            failures += 1
            print(f"{image.name}: refused: {err}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
