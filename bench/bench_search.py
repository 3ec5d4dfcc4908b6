"""Search conversations in a project of 1,000,000 messages: the newest 50 hits for a common
word, another case, a phrase, a rare word and a text in no message, beside the same search as
a plain LIKE scan (no index), on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm GIN).

    python bench/bench_search.py [--contacts 100000 --messages 1000000] [--backends sqlite,postgres]

The rare word is put into 20 messages spread over the whole history for the run, and their
bodies are put back afterwards (the dataset is shared with the other scripts).
"""

from __future__ import annotations

from common import arguments, dataset, median_ms
from report import report
from sqlalchemy import select, text

from smschat.chat import search
from smschat.db import session_scope
from smschat.log import dialect
from smschat.log.query import body_contains
from smschat.models import Contact, Message, WebUser

RARE = "zebrafish"
NEEDLES = [
    ("common word (1 message in 8)", "vaccines"),
    ("part of a word, other case", "VACC"),
    ("phrase across words", "meeting is at"),
    ("rare word (20 messages)", RARE),
    ("text in no message", "xylophone"),
]


def like_scan(session, needle: str, before_id):
    """The baseline in place of `search._matching`: the message log's LIKE, newest first,
    without the index."""
    if dialect.name(session) == "postgresql":
        session.execute(text("SET LOCAL enable_bitmapscan = off"))  # a GIN index is only read by bitmap scans
    return (select(Message, Contact, WebUser).select_from(Message).order_by(Message.id.desc())
            .where(body_contains(session, needle)))


def _plant_rare_word(url: str, project_id: int) -> dict[int, str]:
    with session_scope(url) as s:
        top = int(s.scalar(select(Message.id).order_by(Message.id.desc()).limit(1)))
        ids = [top * (i + 1) // 21 for i in range(20)]
        old = dict(s.execute(select(Message.id, Message.body).where(Message.id.in_(ids))).all())
        for mid in old:
            s.execute(text("UPDATE message SET body = :body WHERE id = :id"),
                      {"body": f"Saw a {RARE} near the depot", "id": mid})
    return old


def _restore(url: str, old: dict[int, str]) -> None:
    with session_scope(url) as s:
        for mid, body in old.items():
            s.execute(text("UPDATE message SET body = :body WHERE id = :id"), {"body": body, "id": mid})


def main() -> None:
    args = arguments(contacts=100_000, messages=1_000_000)
    rows = []
    for backend in args.backends.split(","):
        with dataset(backend, contacts=args.contacts, messages=args.messages) as g:
            old = _plant_rare_word(g.url, g.project_id)
            try:
                for label, needle in NEEDLES:
                    # A transaction per search, as the page runs it (read() opens one per call).
                    def indexed():
                        with session_scope(g.url, readonly=True) as s:
                            return search.find_messages(s, g.project_id, needle)

                    def scan():
                        indexed_way, search._matching = search._matching, like_scan
                        try:
                            return indexed()
                        finally:
                            search._matching = indexed_way

                    hits = indexed()
                    assert hits == scan(), f"{backend}: {needle!r} differs from the LIKE scan"
                    rows.append({"figure": f"search, {label}: {needle!r}, {len(hits)} hits shown", "backend": backend,
                                 "value": round(median_ms(indexed), 2), "unit": "ms",
                                 "baseline": round(median_ms(scan, runs=5), 1)})
            finally:
                _restore(g.url, old)
    print(f"{args.messages:,} messages; baseline: the same search (newest {search.PAGE} hits) by a plain LIKE scan, no index")
    report("search", rows)


if __name__ == "__main__":
    main()
