"""Inbound Twilio webhooks per second through uvicorn (signature check, routing, idempotent
store) on SQLite and PostgreSQL, beside a bare Starlette endpoint that only parses the form.

    python bench/bench_webhooks.py [--contacts 100000 --messages 1000000] [--requests 2000] [--concurrency 8]
                                   [--rounds 5]

The ratio the inbound path is held to: at least 40% of the bare endpoint's rate, one process each.
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from common import ROOT, arguments, dataset
from report import report
from twilio.request_validator import RequestValidator

from smschat.db import session_scope
from smschat.models import PhoneNumber, Project

TOKEN = "bench-auth-token"
PUBLIC = "https://sms.example.org"
SENDER = "+15005550006"


def bare_app():
    """The baseline: the same transport, form parsing and TwiML answer, no work."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def inbound(request):
        await request.form()
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', media_type="text/xml")

    return Starlette(routes=[Route("/twilio/inbound", inbound, methods=["POST"])])


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(app: str, env: dict) -> tuple[subprocess.Popen, str]:
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, *(["--factory"] if app.endswith("bare_app") else []),
         "--port", str(port), "--log-level", "warning", "--no-access-log", "--app-dir", str(ROOT / "bench")],
        cwd=ROOT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.post(base + "/nothing", timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, base


def _requests(numbers: list[str], n: int, tag: str) -> list[tuple[dict, str]]:
    validator = RequestValidator(TOKEN)
    out = []
    for i in range(n):
        form = {"MessageSid": f"SM{tag}{i:030d}", "AccountSid": "AC" + "0" * 32, "From": random.choice(numbers),
                "To": SENDER, "Body": f"reply {i}: I visited two patients", "NumSegments": "1"}
        out.append((form, validator.compute_signature(PUBLIC + "/twilio/inbound", form)))
    return out


def _blast(base: str, requests: list[tuple[dict, str]], concurrency: int) -> float:
    def send(chunk):
        with httpx.Client(timeout=30) as client:
            for form, signature in chunk:
                r = client.post(base + "/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature})
                assert r.status_code == 200, (r.status_code, r.text)

    chunks = [requests[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, chunks))
    return len(requests) / (time.perf_counter() - started)


def main() -> None:
    def extra(parser):
        parser.add_argument("--requests", type=int, default=2_000)
        parser.add_argument("--concurrency", type=int, default=8)
        parser.add_argument("--rounds", type=int, default=5)

    args = arguments(extra=extra)
    rows = []
    for backend in args.backends.split(","):
        with dataset(backend, contacts=args.contacts, messages=args.messages) as g:
            url = g.url
            with session_scope(url) as s:
                s.get(Project, g.project_id).sender_numbers = [SENDER]
                numbers = list(s.scalars(
                    PhoneNumber.__table__.select().with_only_columns(PhoneNumber.e164)
                    .where(PhoneNumber.project_id == g.project_id).limit(5000)))
            env = {**os.environ, "SMSCHAT_DATABASE_URL": url, "SMSCHAT_GATEWAY": "twilio", "TWILIO_AUTH_TOKEN": TOKEN,
                   "SMSCHAT_PUBLIC_URL": PUBLIC, "PYTHONPATH": str(ROOT)}
            # Both servers up at once, measured in turns (bare, new, repeated; `--rounds` times) and
            # the medians kept: the ratio holds even while the machine's load comes and goes.
            servers = {name: _serve(app, env) for name, app in (("bare", "bench_webhooks:bare_app"),
                                                                 ("smschat", "smschat.web.webhooks:app"))}
            try:
                for name, (_, base) in servers.items():
                    _blast(base, _requests(numbers, 100, f"w{name}"), args.concurrency)  # warm up
                rates = {"bare": [], "smschat": [], "repeat": []}
                for r in range(args.rounds):
                    batch = _requests(numbers, args.requests // args.rounds, f"r{r}")
                    rates["bare"].append(_blast(servers["bare"][1], batch, args.concurrency))
                    rates["smschat"].append(_blast(servers["smschat"][1], batch, args.concurrency))
                    # The same webhooks again: stored once, answered 200.
                    rates["repeat"].append(_blast(servers["smschat"][1], batch, args.concurrency))
            finally:
                for proc, _ in servers.values():
                    proc.terminate()
                    proc.wait(10)
            results = {k: statistics.median(v) for k, v in rates.items()}
            # report() divides baseline by value (lower is better): give the time per request.
            per_k = {k: 1000 / v for k, v in results.items()}
            rows.append({"figure": f"inbound webhook, new message ({results['smschat']:,.0f}/s)", "backend": backend,
                         "value": round(per_k["smschat"], 1), "unit": "ms per request (1/rate)", "baseline": round(per_k["bare"], 1)})
            rows.append({"figure": f"inbound webhook, repeated MessageSid ({results['repeat']:,.0f}/s)",
                         "backend": backend, "value": round(per_k["repeat"], 1), "unit": "ms per request (1/rate)",
                         "baseline": round(per_k["bare"], 1)})
            print(f"{backend}: bare Starlette {results['bare']:,.0f}/s, smschat {results['smschat']:,.0f}/s "
                  f"({results['smschat'] / results['bare']:.0%} of bare), repeats {results['repeat']:,.0f}/s "
                  f"({results['repeat'] / results['bare']:.0%})")
    print("baseline: a bare Starlette endpoint that parses the form and answers empty TwiML "
          "(ratio < 1: smschat's share of the time is the signature check, routing and the database)")
    report("webhooks", rows)


if __name__ == "__main__":
    main()
