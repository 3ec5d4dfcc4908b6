"""Run every benchmark in bench/ (bench_*.py) in turn; each prints its own figures and ratios.

Usage: python bench/run.py [name ...] [--contacts N --messages M --backends sqlite,postgres]
e.g. python bench/run.py chat contacts --contacts 20000 --messages 100000
The dataset (100,000 contacts, 1,000,000 messages by default) is generated once per backend
and shared by the scripts. Options of one script: run it directly with --help.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

from common import scratch_database, shared_env
from generate import generate

HERE = Path(__file__).resolve().parent
# Scripts that take --contacts/--messages and use the shared dataset.
SIZED = {"bench_chat", "bench_contacts", "bench_pages", "bench_webhooks", "bench_export", "bench_search", "bench_inbox"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.names]
    if not scripts:
        print("no benchmark selected; available:", ", ".join(s.stem.removeprefix("bench_") for s in sorted(HERE.glob("bench_*.py"))))
        return 2
    started_all = time.monotonic()
    failed = 0
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        # One dataset per backend, shared by every script (generating it is the slow part).
        for backend in args.backends.split(","):
            url = stack.enter_context(scratch_database(backend))
            g = generate(url, contacts=args.contacts, messages=args.messages)
            print(f"{backend}: generated {args.contacts:,} contacts, {args.messages:,} messages in {g.seconds:.0f} s",
                  flush=True)
            path = Path(tmp) / f"{backend}.json"
            path.write_text(json.dumps({"contacts": args.contacts, "messages": args.messages, "generated": asdict(g)}))
            env[shared_env(backend)] = str(path)
        for script in scripts:
            print(f"\n=== {script.name} ===", flush=True)
            started = time.monotonic()
            code = subprocess.call([sys.executable, str(script), "--backends", args.backends,
                                    *(["--contacts", str(args.contacts), "--messages", str(args.messages)]
                                      if script.stem in SIZED else [])], cwd=HERE.parent, env=env)
            print(f"--- {script.name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
            failed += code != 0
    print(f"all benchmarks: {time.monotonic() - started_all:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
