"""Print benchmark figures as a table and keep them in bench/results/<date>.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def report(bench: str, rows: list[dict]) -> None:
    """rows: dicts with at least `figure` and `value`; `baseline` and `unit` when there are some."""
    for row in rows:
        if row.get("baseline") and row.get("value"):
            row["ratio"] = round(row["baseline"] / row["value"], 1)
    headers = ["figure", "backend", "value", "unit", "baseline", "ratio"]
    widths = {h: max(len(h), *(len(_fmt(r.get(h))) for r in rows)) for h in headers}
    print("  ".join(h.ljust(widths[h]) for h in headers))
    for row in rows:
        print("  ".join(_fmt(row.get(h)).ljust(widths[h]) for h in headers))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[bench] = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "rows": rows}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
