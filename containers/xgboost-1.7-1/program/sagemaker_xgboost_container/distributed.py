"""What users' scripts import from the real image's sagemaker_xgboost_container.distributed
(`distributed.rabit_run(...)` in AWS's abalone script-mode example), for the twin's one host.

rabit_run keeps the real signature and contract on one host: when this host has data it calls
exec_fun(**args), adding is_master=True when update_rabit_args is set; a host without data logs a
warning and exits 0. More than one host needs Rabit's tracker, which the twin does not run.
"""
import logging
import socket
import sys

from retrying import retry

from .algorithm_mode.errors import UserError


@retry(stop_max_delay=1000 * 60 * 15, wait_exponential_multiplier=100, wait_exponential_max=30000)
def _dns_lookup(host):
    return socket.gethostbyname(host)


def wait_hostname_resolution(sm_hosts):
    """Wait until every host name resolves (the real one retries for up to 15 minutes)."""
    for host in sm_hosts:
        _dns_lookup(host)


def rabit_run(exec_fun, args, include_in_training, hosts, current_host, first_port=None, second_port=None,
              max_connect_attempts=None, connect_retry_timeout=3, update_rabit_args=False):
    if len(hosts) > 1:
        raise UserError(f"This local twin trains on one host only; rabit_run was given {len(hosts)}: {hosts}")
    if not include_in_training:
        logging.warning("Host %s not being used for distributed training.", current_host)
        sys.exit(0)
    if update_rabit_args:
        args.update({"is_master": True})
    return exec_fun(**args)
