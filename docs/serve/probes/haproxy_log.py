"""HAProxy's own view of each request under load: its log lines (syslog over UDP), with the total time it spent on
each (Ta, from the first byte of the request to the last of the answer) and the status it sent.

python haproxy_log.py listen PORT FILE     # until SIGTERM: every datagram to 127.0.0.1:PORT, one per line, to FILE
python haproxy_log.py summary FILE         # per status: count, Ta p50 / p99 / max (ms), answers over 1 s

The server is pointed at the listener with RAY_SERVE_HAPROXY_LOG_TARGET=127.0.0.1:PORT. The listener only
writes what it receives (parsing waits for summary), so that it takes little of the CPU the server needs.
"""

import re
import signal
import socket
import sys

import numpy as np

# option httplog: ... frontend backend/server TR/Tw/Tc/Tr/Ta status bytes ...
TIMERS = re.compile(rb" (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/\+?(-?\d+) (\d{3}) ")


def listen(port: int, path: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    sock.bind(("127.0.0.1", port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(path, "wb", buffering=0) as out:  # unbuffered: the file shows what came so far
        while True:
            out.write(sock.recv(65536).rstrip(b"\n") + b"\n")


def summary(path: str) -> None:
    by_status: dict[str, list[int]] = {}
    for line in open(path, "rb"):
        match = TIMERS.search(line)
        if match:
            by_status.setdefault(match.group(6).decode(), []).append(int(match.group(5)))
    for status, times in sorted(by_status.items()):
        t = np.array(times)
        print(f"{status}: {len(t):7d} answers, Ta p50 {np.percentile(t, 50):6.0f} ms, p99 {np.percentile(t, 99):6.0f} "
              f"ms, max {t.max():6d} ms, over 1 s: {(t > 1000).sum()}")


if __name__ == "__main__":
    listen(int(sys.argv[2]), sys.argv[3]) if sys.argv[1] == "listen" else summary(sys.argv[2])
