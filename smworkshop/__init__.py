"""Helpers for the SageMaker "Domain 3 - Modeling" workshop.

A notebook does `import smworkshop as ws` and `lab = ws.start_lab("01_...", mode=MODE)`; the lab
session hands out the mode's clients, builds images, trains, deploys and cleans up. Modules are
named after the part of the job they own:

    mode        local or aws                 session     the per-lab object (clients, training, hosting)
    engine      the Docker engine            images      base image, wheelhouse, builds, ECR push
    opt_ml      an /opt/ml tree by hand      docker_run  `docker run IMAGE train|serve` by hand
    cleanup     delete what a lab created    results     numbers a lab records for CI
    datasets    offline data sets            plots       figures
    model_archive  model.tar.gz layout       runner      execute lab notebooks
    notebooks   strip outputs for git         preflight   is this machine ready? what to fix
"""
from . import datasets, docker_run, model_archive, opt_ml, plots, preflight
from .preflight import PreflightFailed
from .session import FAKE_ROLE, InvocationError, LabSession, TrainingFailed, start_lab, unique_name

__all__ = ["datasets", "docker_run", "model_archive", "opt_ml", "plots", "preflight", "FAKE_ROLE", "InvocationError", "LabSession",
           "PreflightFailed", "TrainingFailed", "start_lab", "unique_name"]
