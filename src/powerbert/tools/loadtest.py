"""`powerbert loadtest`: N concurrent clients against a server on this machine, at a set rate for a set time.

Open loop: requests are scheduled at `rate` per second whatever the server does (a closed loop, rate 0, sends
each client's next request when its last one is answered). A request's latency counts from its scheduled
time, so time spent waiting for a free client counts too; each answer's time from when it left the client is
reported beside it (`*_after_send_ms`), which tells the server's share from the generator's own backlog when
the generator cannot keep up with the rate it was asked for; a request it could not even send within `timeout`
of its schedule is not sent and is counted apart (`not_sent`), so a generator far behind ends on time.
Bounded: loopback addresses only, at most `duration` seconds of sending plus twice `timeout` of waiting (a
request picked up just within its timeout, then answered late), at most `max_requests` requests.
"""

import asyncio
import ipaddress
import itertools
import json
import socket
import time
from collections import Counter
from urllib.parse import urlparse

import numpy as np

from ..errors import PowerBertError

MAX_REQUESTS = 1_000_000
NOT_SENT = -1


def check_local(url: str) -> None:
    """Refuse any host that is not this machine: a load test is not to be pointed at someone else's server."""
    host = urlparse(url).hostname
    if not host:
        raise PowerBertError(f"--url {url!r} has no host")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as err:
        raise PowerBertError(f"--url {url}: cannot resolve {host} ({err.strerror})") from None
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise PowerBertError(f"--url {url}: the load generator only targets this machine (localhost, 127.0.0.1)")


async def _run(url: str, bodies: list[bytes], concurrency: int, rate: float, duration: float, timeout: float,
               max_requests: int) -> dict:
    import aiohttp

    queue: asyncio.Queue = asyncio.Queue()
    # (status, seconds from the scheduled time, seconds from sending); status 0: no answer (timeout, connection
    # error); NOT_SENT: the generator itself was more than `timeout` late to send it
    results: list[tuple[int, float, float]] = []
    start = time.perf_counter()
    stop_at = start + duration
    sent = 0

    async def client(session) -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            scheduled, body = item
            sent_at = time.perf_counter()
            if sent_at - scheduled > timeout:
                results.append((NOT_SENT, sent_at - scheduled, 0.0))
                continue
            try:
                async with session.post(url, data=body, headers={"Content-Type": "application/json"},
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError):
                status = 0
            now = time.perf_counter()
            results.append((status, now - scheduled, now - sent_at))
            if rate <= 0 and time.perf_counter() < stop_at and len(results) + queue.qsize() < max_requests:
                queue.put_nowait((time.perf_counter(), next(cycle)))

    cycle = itertools.cycle(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        workers = [asyncio.create_task(client(session)) for _ in range(concurrency)]
        if rate > 0:
            # every request due within the duration is queued, even when the loop wakes late: sent or not_sent
            while sent < max_requests and (due := start + sent / rate) < stop_at:
                if due > (now := time.perf_counter()):
                    await asyncio.sleep(due - now)
                queue.put_nowait((due, next(cycle)))
                sent += 1
        else:
            for _ in range(min(concurrency, max_requests)):
                queue.put_nowait((time.perf_counter(), next(cycle)))
            await asyncio.sleep(duration)
        while not queue.empty() and rate <= 0:
            queue.get_nowait()  # a closed loop stops sending at the deadline
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.wait_for(asyncio.gather(*workers), 2 * timeout + 5)  # a late item is skipped, not sent
    elapsed = time.perf_counter() - start
    not_sent = sum(1 for status, _, _ in results if status == NOT_SENT)
    results = [r for r in results if r[0] != NOT_SENT]
    statuses = Counter(status for status, _, _ in results)
    ok = np.asarray([s for status, s, _ in results if status == 200])
    answered = np.asarray([(s, after_send) for status, s, after_send in results if status != 0]).reshape(-1, 2)
    return {
        "url": url, "concurrency": concurrency, "rate": rate, "duration_s": duration, "elapsed_s": round(elapsed, 3),
        "requests": len(results), "ok": int(ok.size), "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "overloaded": statuses.get(429, 0) + statuses.get(503, 0),
        "errors": sum(n for status, n in statuses.items() if status not in (200, 429, 503)),
        "unanswered": statuses.get(0, 0),
        "not_sent": not_sent,
        "throughput_rps": round(ok.size / elapsed, 2),
        **{f"p{q}_ms": _ms(np.percentile(ok, q)) if ok.size else None for q in (50, 95, 99)},
        "max_answer_ms": _ms(answered[:, 0].max()) if answered.size else None,
        "p99_answer_after_send_ms": _ms(np.percentile(answered[:, 1], 99)) if answered.size else None,
        "max_answer_after_send_ms": _ms(answered[:, 1].max()) if answered.size else None,
    }


def _ms(seconds: float) -> float:
    return round(float(seconds) * 1000, 1)


def load_test(url: str, bodies: list[bytes], concurrency: int = 16, rate: float = 0.0, duration: float = 30.0,
              timeout: float = 10.0, max_requests: int = MAX_REQUESTS) -> dict:
    """Run the load test and report throughput, latency percentiles (answered with 200) and every status."""
    check_local(url)
    if not bodies:
        raise PowerBertError("no requests to send")
    return asyncio.run(_run(url, bodies, concurrency, rate, duration, timeout, max_requests))


def request_bodies(sequences: list[tuple[str, ...]], inputs_per_request: int = 1) -> list[bytes]:
    """TEI request bodies from texts or pairs, `inputs_per_request` to a body."""
    bodies = []
    for i in range(0, len(sequences), inputs_per_request):
        chunk = [list(s) for s in sequences[i : i + inputs_per_request]]  # [text] or [a, b]: never ambiguous
        bodies.append(json.dumps({"inputs": chunk[0] if len(chunk) == 1 else chunk}).encode())
    return bodies
