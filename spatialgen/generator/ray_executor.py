"""The Ray executor: the same shard tasks on a Ray cluster, byte-identical to the local executor.

Each shard is a task that renders and writes its own files atomically, so a task lost with its worker is
simply run again (``max_retries``) and the result is the same bytes. The driver records finished shards
in the manifest as they complete; after a driver crash, re-running the command resumes from it.
"""

from __future__ import annotations

from collections.abc import Callable

from spatialgen.errors import SpatialgenError

from .executor import lean_gc
from .manifest import RunSpec, ShardStats
from .shard import render_shard

TASK_RETRIES = 3


def _render(spec_json: str, out: str, k: int) -> ShardStats:
    with lean_gc():
        return render_shard(RunSpec.model_validate_json(spec_json), out, k)


PROBE_SECONDS = 5.0


def check_reachable(address: str) -> None:
    """ray.init retries an address that nothing answers for minutes; a TCP probe says so in seconds."""
    import re
    import socket

    m = re.fullmatch(r"(?:ray://)?\[?([\w.:-]+?)\]?:(\d+)", address)
    if m is None:  # "auto", "local": ray finds the cluster itself
        return
    host, port = m.group(1), int(m.group(2))
    try:
        socket.create_connection((host, port), timeout=PROBE_SECONDS).close()
    except OSError as e:
        raise SpatialgenError(
            f"--ray-address {address}: nothing answers at {host}:{port} within {PROBE_SECONDS:g} s "
            f"({e.strerror or type(e).__name__}); is the cluster up?"
        ) from None


def init(address: str | None, num_cpus: int | None) -> None:
    """Connect to a Ray cluster (or start a local one)."""
    try:
        import ray
    except ImportError:
        raise SpatialgenError("--executor ray needs the ray extra: pip install 'spatialgen[ray]'") from None
    if ray.is_initialized():
        return
    kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address:
        check_reachable(address)
        kwargs["address"] = address
    elif num_cpus:
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise SpatialgenError(
            f"cannot reach the Ray cluster at {address or 'a new local cluster'}: {str(e).splitlines()[0][:160]}"
        ) from None


def run_ray(
    spec: RunSpec,
    out: str,
    shards: list[int],
    on_shard: Callable[[int, ShardStats], None],
    on_progress: Callable[[int], None],
    address: str | None = None,
    num_cpus: int | None = None,
    num_gpus: float = 0,
) -> None:
    """Render the missing shards as Ray tasks; the driver records each finished shard in the manifest."""
    if not shards:
        return
    init(address, num_cpus)
    import ray

    task = ray.remote(num_cpus=1, num_gpus=num_gpus, max_retries=TASK_RETRIES, retry_exceptions=False)(_render)
    spec_json = spec.model_dump_json()
    refs = {task.remote(spec_json, out, k): k for k in shards}
    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=0.5)
            for r in ready:
                k = refs[r]
                try:
                    stats = ray.get(r)
                except ray.exceptions.RayTaskError as e:
                    cause = getattr(e, "cause", None)
                    if isinstance(cause, SpatialgenError):
                        raise SpatialgenError(str(cause)) from None
                    raise
                on_shard(k, stats)
                on_progress(len(spec.shard_range(k)))
    finally:
        for r in pending:
            ray.cancel(r, force=True)
