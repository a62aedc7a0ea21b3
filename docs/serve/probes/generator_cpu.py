"""CPU the load generator itself spends per request: `powerbert loadtest`'s client (16 clients, closed loop, 5 s)
against an aiohttp server that answers at once, in a process of its own. Run from the repository root:
python docs/serve/probes/generator_cpu.py
"""
import asyncio
import subprocess
import sys
import time

from powerbert.tools.loadtest import _run, request_bodies

SERVER = """
from aiohttp import web
async def answer(request):
    await request.read()
    return web.json_response([{"label": "x", "score": 1.0}])
app = web.Application()
app.router.add_post("/predict", answer)
web.run_app(app, host="127.0.0.1", port=8611, print=None, access_log=None)
"""

server = subprocess.Popen([sys.executable, "-c", SERVER])
try:
    time.sleep(2)
    bodies = request_bodies([("a fine film", "another one")])
    for _ in range(2):
        start = time.process_time()
        report = asyncio.run(_run("http://127.0.0.1:8611/predict", bodies, 16, 0.0, 5.0, 10.0, 10**6))
        spent = time.process_time() - start
        print(f"{report['throughput_rps']} requests / s, {1000 * spent / report['requests']:.3f} ms of CPU a request")
finally:
    server.terminate()
