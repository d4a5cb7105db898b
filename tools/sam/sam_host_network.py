"""Runs the pinned SAM CLI with `--docker-network host` made to work on a Docker engine that
has no bridge network.

SAM 1.170 treats `--docker-network host` as "do not connect the container to another network"
but still creates it in Docker's default network mode and publishes the emulator's port
(samcli/local/docker/container.py, `Container.create`). On an engine started with
`--bridge=none` (this project's rule: every container on the host network, all traffic on
loopback) that container has no network at all, and SAM times out reaching it.

This wrapper changes only that: a container asked for the host network is created with
`network_mode: host`, and SAM's own Runtime Interface Emulator inside it is told to listen on
the loopback port SAM already chose for it (`--runtime-interface-emulator-address`), with its
Runtime API on a free loopback port of its own (`--runtime-api-address`), so containers that run
side by side (start-api, start-lambda) do not collide on the emulator's default 8080 and 9001.
Everything else is SAM's code. Use it as `python sam_host_network.py <sam arguments>`.
"""

from __future__ import annotations

import sys

from docker.models.containers import ContainerCollection
from samcli.cli.main import cli
from samcli.local.docker import container
from samcli.local.docker.utils import find_free_port

_create = container.Container.create
_docker_create = ContainerCollection.create


def _create_on_host_network(self, context):
    if self.network_id == "host":
        self._container_opts = {**(self._container_opts or {}), "network_mode": "host"}
        runtime_api_port = find_free_port(network_interface="127.0.0.1", start=20000, end=30000)
        self._entrypoint = list(self._entrypoint or []) + [
            "--runtime-interface-emulator-address", f"127.0.0.1:{self.rapid_port_host}",
            "--runtime-api-address", f"127.0.0.1:{runtime_api_port}",
        ]
        self._exposed_ports = None
    return _create(self, context)


def _docker_create_without_published_ports(self, image, command=None, **kwargs):
    # Docker refuses published ports on the host network; the emulator listens there itself.
    if kwargs.get("network_mode") == "host":
        kwargs.pop("ports", None)
    return _docker_create(self, image, command, **kwargs)


container.Container.create = _create_on_host_network
ContainerCollection.create = _docker_create_without_published_ports

if __name__ == "__main__":
    sys.argv[0] = "sam"
    sys.exit(cli())
