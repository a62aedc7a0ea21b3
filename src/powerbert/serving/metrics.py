"""Counters of one server replica in Prometheus' text format: requests by status, batch sizes formed, latency."""

import threading
from collections import Counter, deque

import numpy as np

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
QUANTILES = (0.5, 0.95, 0.99)


class Metrics:
    """Thread-safe counts; latencies of the last `window` requests for the percentiles."""

    def __init__(self, replica: str, window: int = 10_000) -> None:
        self.replica = replica
        self.lock = threading.Lock()
        self.requests: Counter = Counter()
        self.inputs = 0
        self.batch_sizes: Counter = Counter()
        self.latencies: deque = deque(maxlen=window)

    def request(self, status: int, seconds: float, inputs: int = 0) -> None:
        with self.lock:
            self.requests[status] += 1
            self.inputs += inputs
            self.latencies.append(seconds)

    def batch(self, size: int) -> None:
        with self.lock:
            self.batch_sizes[size] += 1

    def render(self) -> str:
        """The counters as Prometheus exposition text."""
        label = f'replica="{self.replica}"'
        with self.lock:
            lines = ["# HELP powerbert_requests_total HTTP requests answered, by status code.",
                     "# TYPE powerbert_requests_total counter"]
            lines += [f'powerbert_requests_total{{{label},status="{s}"}} {n}' for s, n in sorted(self.requests.items())]
            lines += ["# HELP powerbert_inputs_total Texts or pairs classified.", "# TYPE powerbert_inputs_total counter",
                      f"powerbert_inputs_total{{{label}}} {self.inputs}",
                      "# HELP powerbert_batch_size Sizes of the batches the model ran.",
                      "# TYPE powerbert_batch_size histogram"]
            total = 0
            for bound in BATCH_BUCKETS:
                total_le = sum(n for size, n in self.batch_sizes.items() if size <= bound)
                lines.append(f'powerbert_batch_size_bucket{{{label},le="{bound}"}} {total_le}')
            count = sum(self.batch_sizes.values())
            total = sum(size * n for size, n in self.batch_sizes.items())
            lines += [f'powerbert_batch_size_bucket{{{label},le="+Inf"}} {count}',
                      f"powerbert_batch_size_sum{{{label}}} {total}", f"powerbert_batch_size_count{{{label}}} {count}",
                      "# HELP powerbert_request_latency_seconds Request latency over the last requests.",
                      "# TYPE powerbert_request_latency_seconds summary"]
            latencies = np.asarray(self.latencies)
            for q in QUANTILES:
                value = float(np.quantile(latencies, q)) if latencies.size else float("nan")
                lines.append(f'powerbert_request_latency_seconds{{{label},quantile="{q}"}} {value:.6f}')
            lines += [f"powerbert_request_latency_seconds_sum{{{label}}} {float(latencies.sum()):.6f}",
                      f"powerbert_request_latency_seconds_count{{{label}}} {latencies.size}"]
        return "\n".join(lines) + "\n"
