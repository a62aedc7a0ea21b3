"""`powerbert serve`: the TEI request format, answers like the local model's, one-line 4xx for bad requests,
metrics, the admission front, the load generator, and a graceful stop; on a tiny PoWER BERT exported to ONNX Runtime."""

import contextlib
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from conftest import TINY_LABELS as LABELS
from transformers import AutoTokenizer

from powerbert import PowerBertError
from powerbert.deploy import load_exported
from powerbert.serving.admission import METRICS_PATH, Admission, AdmissionLimits, free_port, haproxy_binary
from powerbert.serving.api import ApiError, answer, parse_request, scores
from powerbert.serving.metrics import Metrics
from powerbert.tools.loadtest import check_local, load_test, request_bodies


def test_requests_in_every_shape_parse_and_bad_ones_get_a_4xx_line():
    assert parse_request(b'{"inputs": "a fine film"}', 8).sequences == [("a fine film",)]
    pair = parse_request(b'{"inputs": ["a", "b"], "raw_scores": true}', 8)
    assert pair.sequences == [("a", "b")] and pair.single and pair.function == "none"
    batch = parse_request(b'{"inputs": ["a", ["b", "c"]], "parameters": {"top_k": 1, "truncate": true}}', 8)
    assert batch.sequences == [("a",), ("b", "c")] and not batch.single and batch.top_k == 1 and batch.truncate
    for body, status, message in [(b"{not json", 422, "not valid JSON"), (b'{"text": "a"}', 422, '"inputs"'),
                                  (b'{"inputs": []}', 422, "inputs is empty"), (b'{"inputs": ""}', 422, "empty text"),
                                  (b'{"inputs": ["a", 3]}', 422, "inputs[1] must be"),
                                  (b'{"inputs": ["a", "b", "c"]}', 413, "3 inputs in one request; at most 2"),
                                  (b'{"inputs": "a", "parameters": {"top_k": 0}}', 422, "top_k")]:
        with pytest.raises(ApiError, match=re.escape(message)) as caught:
            parse_request(body, 2)
        assert caught.value.status == status and "\n" not in caught.value.message


def test_answers_sort_labels_by_score():
    request = parse_request(b'{"inputs": ["a", "b", "c"]}', 8)
    rows = answer(request, np.array([[0.0, 2.0], [1.0, -1.0], [0.0, 0.0]]), LABELS)
    assert [r[0]["label"] for r in rows] == ["fine", "dull", "dull"]
    assert rows[0][0]["score"] == pytest.approx(scores(np.array([[0.0, 2.0]]), "softmax")[0, 1])
    assert sum(item["score"] for item in rows[0]) == pytest.approx(1.0)


def test_metrics_render_in_prometheus_format():
    metrics = Metrics("r1")
    for size in (1, 3, 32):
        metrics.batch(size)
    metrics.request(200, 0.01, 3)
    metrics.request(422, 0.002)
    text = metrics.render()
    assert 'powerbert_requests_total{replica="r1",status="200"} 1' in text
    assert 'powerbert_batch_size_bucket{replica="r1",le="4"} 2' in text and "powerbert_batch_size_count" in text
    assert 'powerbert_request_latency_seconds{replica="r1",quantile="0.5"}' in text


def test_the_load_generator_refuses_other_machines():
    check_local("http://127.0.0.1:9/predict")
    with pytest.raises(PowerBertError, match="only targets this machine"):
        check_local("http://192.0.2.1:8080/predict")


def test_the_ingress_and_admission_are_haproxy_where_its_binary_is_and_say_so_where_it_is_not(monkeypatch):
    import powerbert.serving.server as server

    monkeypatch.setattr(server, "haproxy_binary", lambda: "/usr/sbin/haproxy")
    assert [server.choose_ingress(x) for x in ("auto", "haproxy", "proxy")] == ["haproxy", "haproxy", "proxy"]
    haproxy = "/usr/sbin/haproxy"
    assert [server.choose_admission(x) for x in ("auto", "on", "off")] == [haproxy, haproxy, None]
    monkeypatch.setattr(server, "haproxy_binary", lambda: None)  # no binary at all
    assert [server.choose_ingress(x) for x in ("auto", "proxy")] == ["proxy", "proxy"]
    assert [server.choose_admission(x) for x in ("auto", "off")] == [None, None]
    with pytest.raises(PowerBertError, match="--ingress haproxy needs the HAProxy binary"):
        server.choose_ingress("haproxy")
    with pytest.raises(PowerBertError, match="--admission on needs the HAProxy binary"):
        server.choose_admission("on")
    with pytest.raises(PowerBertError, match="choose auto, haproxy or proxy"):
        server.choose_ingress("nginx")


class _SlowBackend(http.server.BaseHTTPRequestHandler):
    """Answers every POST after 0.4 s: a replica that is busy."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(0.4)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _front_of_a_slow_backend(limits: AdmissionLimits):
    """An admission front on a free port before a backend that takes 0.4 s a request; yields (url, front)."""
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowBackend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    port = free_port()
    front = Admission(haproxy_binary(), "127.0.0.1", port, backend.server_address[1], limits)
    front.start()
    try:
        yield f"http://127.0.0.1:{port}", front
    finally:
        front.stop()
        backend.shutdown()


def _at_once(call, clients: int, spacing: float = 0.0) -> None:
    threads = [threading.Thread(target=call) for _ in range(clients)]
    for thread in threads:
        thread.start()
        time.sleep(spacing)
    for thread in threads:
        thread.join()


@pytest.mark.skipif(haproxy_binary() is None, reason="needs HAProxy's binary (ray[serve] on Linux)")
def test_the_admission_front_lets_in_flight_through_queues_some_and_refuses_the_rest_at_once():
    answers = []
    with _front_of_a_slow_backend(AdmissionLimits(in_flight=2, queued=2, queue_ms=600)) as (url, front):
        def call():
            start = time.perf_counter()
            status, body = _post(url + "/predict", b'{"inputs": "a"}')
            answers.append((status, time.perf_counter() - start, body))

        _at_once(call, 10, spacing=0.01)  # in order: the first two run, the next two queue, the rest are refused
        with urllib.request.urlopen(url + METRICS_PATH) as response:
            assert "haproxy_backend_http_responses_total" in response.read().decode()
    served = sorted(t for status, t, _ in answers if status == 200)
    refused = [(t, body) for status, t, body in answers if status == 503]
    assert len(served) == 4 and len(refused) == 6  # 2 in flight + 2 queued (each waits for one turn, 0.4 s < 0.6 s)
    assert served[-1] > 0.7 and all(t < 0.3 for t, _ in refused)  # the queued ones waited; refusals are at once
    assert all(body["error_type"] == "overloaded" and "\n" not in body["error"] for _, body in refused)
    assert front.process.returncode == 0  # a soft stop


@pytest.mark.skipif(haproxy_binary() is None, reason="needs HAProxy's binary (ray[serve] on Linux)")
def test_a_request_queued_longer_than_the_limit_is_answered_503():
    answers = []
    with _front_of_a_slow_backend(AdmissionLimits(in_flight=1, queued=8, queue_ms=150)) as (url, _):
        _at_once(lambda: answers.append(_post(url + "/", b"{}")[0]), 3)
    assert sorted(answers) == [200, 503, 503]  # one served; the two behind it waited past 150 ms


def _post(url: str, body: bytes) -> tuple[int, object]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_an_input_that_waited_past_max_queue_ms_is_not_run_and_its_request_gets_a_503(shared_bert_export):
    import asyncio

    from powerbert.serving.server import Classifier, ServeOptions

    class OneAtATime(Classifier):  # what serve.batch does with each input: a batch of one here
        async def classify(self, item):
            return (await Classifier.classify(self, [item]))[0]

    replica = OneAtATime(str(shared_bert_export / "onnx"), {"max_queue_ms": 50.0, "max_wait_ms": 5.0})
    encoded = replica.encode(parse_request(json.dumps({"inputs": [["a fine film"], ["dull"]]}).encode(), 8))
    now = time.perf_counter()
    fresh, stale = replica._run(encoded, [now, now - 0.2])  # the second arrived 200 ms ago
    np.testing.assert_allclose(fresh, replica._run(encoded[:1], [now])[0], atol=1e-6)
    assert stale is None
    assert asyncio.run(replica.predict(b'{"inputs": "a fine film"}'))[0]["label"] in LABELS.values()  # in time: answered
    replica.options.max_queue_ms = 1e-6  # nothing starts that soon
    with pytest.raises(ApiError) as refused:
        asyncio.run(replica.predict(b'{"inputs": "a fine film"}'))
    assert refused.value.status == 503 and "overloaded" in refused.value.message
    with pytest.raises(PowerBertError, match="--max-queue-ms"):
        ServeOptions(max_queue_ms=5.0, max_wait_ms=5.0)


@pytest.fixture(scope="module")
def server(shared_bert_export):
    """`powerbert serve` in a process of its own, on a free port, serving a tiny PoWER BERT's ONNX export."""
    port = free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    process = subprocess.Popen([sys.executable, "-m", "powerbert.cli", "serve", "--model",
                                str(shared_bert_export / "onnx"), "--port", str(port), "--max-inputs", "8",
                                "--max-body-bytes", "100000"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 400  # Ray's start takes minutes on a busy 2-core machine
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if process.poll() is not None:
            pytest.fail(f"the server stopped: {process.stdout.read()[-2000:]}")
        time.sleep(0.25)
    else:
        process.kill()
        pytest.fail("the server did not come up in 400 s")
    yield base, shared_bert_export / "onnx", process
    if process.poll() is None:  # stopped as a user stops it: a killed server leaves Ray's HAProxy behind
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()


def _local(folder, texts):
    model, tokenizer = load_exported(folder), AutoTokenizer.from_pretrained(folder)
    with torch.inference_mode():
        return model(**tokenizer(*texts, return_tensors="pt")).logits.softmax(-1)[0].tolist()


def test_inference_client_gets_the_local_models_labels_and_scores(server):
    from huggingface_hub import InferenceClient

    base, folder, _ = server
    got = InferenceClient(base_url=base).text_classification("a fine film")
    expected = sorted(((LABELS[i], p) for i, p in enumerate(_local(folder, ["a fine film"]))), key=lambda x: -x[1])
    assert [g.label for g in got] == [label for label, _ in expected]
    assert [g.score for g in got] == pytest.approx([score for _, score in expected], abs=1e-5)


def test_predict_answers_a_text_a_pair_and_a_batch_like_the_local_model(server):
    base, folder, _ = server
    status, single = _post(base + "/predict", b'{"inputs": "dull and dull"}')
    assert status == 200 and [x["label"] for x in single] == sorted(LABELS.values(), key=lambda l: -dict(
        (LABELS[i], p) for i, p in enumerate(_local(folder, ["dull and dull"])))[l])
    status, batch = _post(base + "/predict", json.dumps({"inputs": [["a film", "dull"], "fine", "a fine film and a"]}).encode())
    assert status == 200 and len(batch) == 3  # a pair and two texts of other lengths, batched together
    for got, texts in zip(batch, [["a film", "dull"], ["fine"], ["a fine film and a"]]):
        assert {x["label"]: x["score"] for x in got} == pytest.approx(
            {LABELS[i]: p for i, p in enumerate(_local(folder, texts))}, abs=1e-5)
    status, raw = _post(base + "/predict", b'{"inputs": "fine", "raw_scores": true}')
    assert status == 200 and sum(x["score"] for x in raw) != pytest.approx(1.0)


def test_bad_requests_get_a_4xx_with_one_line(server):
    base, _, _ = server
    for body, status in [(b'{"inputs": []}', 422), (b"[1, 2", 422), (b'{"inputs": ' + b'"a " ' * 2 + b"}", 422),
                         (json.dumps({"inputs": ["fine"] * 9}).encode(), 413),
                         (json.dumps({"inputs": "a " * 5_000_000}).encode(), 413),
                         (json.dumps({"inputs": "a " * 70}).encode(), 413)]:
        got, error = _post(base + "/predict", body)
        assert got == status and "\n" not in error["error"] and error["error_type"], (body[:40], got, error)
    status, ok = _post(base + "/predict", json.dumps({"inputs": "a " * 70, "truncate": True}).encode())
    assert status == 200


def test_health_info_and_metrics(server):
    base, _, _ = server
    with urllib.request.urlopen(base + "/info") as response:
        info = json.loads(response.read())
    assert info["model_type"]["classifier"]["id2label"] == {"0": "dull", "1": "fine"} and info["runtime"] == "onnxruntime"
    with urllib.request.urlopen(base + "/metrics") as response:
        text = response.read().decode()
    assert "powerbert_requests_total" in text and "powerbert_batch_size_bucket" in text


def test_concurrent_clients_are_batched_and_all_answered(server):
    base, _, _ = server
    bodies = request_bodies([("a fine film",), ("dull and", "a film"), ("fine",)] * 10)
    report = load_test(base + "/predict", bodies, concurrency=16, duration=3, timeout=30)
    assert report["requests"] > 16 and report["ok"] == report["requests"] and report["unanswered"] == 0
    with urllib.request.urlopen(base + "/metrics") as response:
        buckets = [line for line in response.read().decode().splitlines() if line.startswith("powerbert_batch_size_bucket")]
    singles = int(buckets[0].rsplit(" ", 1)[1])
    total = int(next(b for b in buckets if 'le="+Inf"' in b).rsplit(" ", 1)[1])
    assert total > singles  # some batches held more than one input


def test_the_generators_own_backlog_is_told_from_the_servers_time(server):
    base, _, _ = server
    # one client asked for 1,000 requests a second: they queue at the client, not at the server
    report = load_test(base + "/predict", request_bodies([("a fine film",)]), concurrency=1, rate=1000, duration=0.3,
                       timeout=30)
    # every scheduled request is sent or reported unsent (a busy CPU may leave the last one unsent at the end)
    assert report["ok"] == report["requests"] and report["requests"] + report["not_sent"] >= 300
    assert report["max_answer_ms"] > 2 * report["p99_answer_after_send_ms"] > 0


def test_a_generator_far_behind_its_rate_ends_on_time_and_says_what_it_did_not_send(server):
    base, _, _ = server
    start = time.perf_counter()
    report = load_test(base + "/predict", request_bodies([("a fine film",)]), concurrency=1, rate=20000, duration=1,
                       timeout=0.5)
    assert time.perf_counter() - start < 1 + 2 * 0.5 + 5
    assert report["not_sent"] > 0 and report["requests"] + report["not_sent"] >= 10000
    assert report["unanswered"] == 0 and report["ok"] == report["requests"]


def test_sigterm_stops_the_server_cleanly(server):
    _, _, process = server
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output[-2000:]
    assert "draining" in output
    from powerbert.serving.server import choose_ingress

    assert f"{choose_ingress('auto')} ingress)" in output  # the default: HAProxy where its binary is installed
    assert ("admission: 64 in flight, 64 queued" in output) == (haproxy_binary() is not None)
