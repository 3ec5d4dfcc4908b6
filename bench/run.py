"""Run every benchmark in bench/ (bench_*.py) in turn; each prints its own figures and ratios.

Usage: python bench/run.py [name ...]   e.g. python bench/run.py chat contacts
Extra sizes and options: run a script directly with --help.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in argv]
    if not scripts:
        print("no benchmark selected; available:", ", ".join(s.stem.removeprefix("bench_") for s in sorted(HERE.glob("bench_*.py"))))
        return 2
    failed = 0
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"--- {script.name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
