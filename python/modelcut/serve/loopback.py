# Keeping a Ray instance of this machine alone on 127.0.0.1. Ray's own
# servers (GCS, raylet, object manager, workers, agents, Serve's controller
# and HTTP proxy) listen on the node's address, which deploy() sets to
# 127.0.0.1. One server has no such setting: every Ray Serve replica starts
# an inter-deployment gRPC server on "[::]:0", every interface, whatever
# the node's address (ray/serve/_private/replica.py, Ray 2.60). A replica
# of this package binds it to its node's address instead, when that
# address is loopback; tests/serve checks every listening socket.
from __future__ import annotations

import ipaddress
import os
import sys

# Read by Ray when it is imported (and by the processes it starts): the
# addresses of a single-machine instance default to 127.0.0.1, and no
# replica opens Serve's "direct ingress" servers next to the proxy.
LOCAL_RAY_ENVIRONMENT = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_SERVE_ENABLE_DIRECT_INGRESS": "0"}


def set_local_environment() -> None:
    """For a Ray instance this process starts, before ray.init. Ray reads
    the environment when it is imported: the processes it starts see it,
    and so does this one if Ray is not imported yet; if it is (loading
    `--intervene FILE.py:FUNCTION` imports Ray's cloudpickle), the setting
    Ray read is changed too, or the node would take this machine's network
    address and its servers listen on every interface."""
    os.environ.update(LOCAL_RAY_ENVIRONMENT)
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:
        if not hasattr(constants, "ENABLE_RAY_CLUSTER"):
            # NB: fail closed, as keep_replica_grpc_on_node_address does
            raise RuntimeError(
                "this Ray version keeps its single-machine setting where modelcut cannot set "
                "it; install the Ray version of modelcut's requirements"
            )
        constants.ENABLE_RAY_CLUSTER = False


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def keep_replica_grpc_on_node_address() -> None:
    """Called first in a replica's constructor, which Ray Serve runs before
    it starts the replica's gRPC server: on a loopback node, that server
    listens on the node's address, not on every interface."""
    import ray
    from ray.serve._private import replica

    node = ray.util.get_node_ip_address()
    if not is_loopback(node):
        return  # a cluster node: its peers reach the replica on the node's address
    add_port = getattr(replica, "add_port_to_grpc_server", None)
    if add_port is None:
        # NB: fail closed. A Ray Serve that binds its replicas' servers by
        # other means would open them on every interface.
        raise RuntimeError(
            "this Ray Serve version starts its replicas' gRPC servers in a way modelcut "
            "cannot keep on 127.0.0.1; install the Ray version of modelcut's requirements"
        )
    if getattr(add_port, "modelcut_node_address", None) == node:
        return

    def add_port_on_node_address(server, address: str):
        host, _, port = address.rpartition(":")
        if host in ("[::]", "0.0.0.0", ""):
            address = f"[{node}]:{port}" if ":" in node else f"{node}:{port}"
        return add_port(server, address)

    add_port_on_node_address.modelcut_node_address = node
    replica.add_port_to_grpc_server = add_port_on_node_address
