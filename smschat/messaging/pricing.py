"""What a message costs: the project's price per SMS segment (blank = not shown) times the
segments of the text times the recipients. Amounts are Decimals, multiplied exactly (no float);
the page's live counter does the same sum in integer minor units (pages/_chat_composer.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_project
from smschat.automation import groups
from smschat.errors import NotFound, ValidationError
from smschat.messaging.lookalikes import unicode_culprits, with_lookalikes
from smschat.messaging.segments import count_segments

MAX_DECIMALS = 6
MAX_PRICE = Decimal(100)
SYMBOLS = "$€£¥₹₦"
_PRICE_RE = re.compile(
    rf"^(?:(?P<pre>[A-Z]{{3}}|[{SYMBOLS}])\s*)?(?P<amount>\d{{1,3}}(?:\.\d{{1,{MAX_DECIMALS}}})?)"
    r"(?:\s*(?P<post>[A-Z]{3}))?$"
)
PRICE_HELP = "A price per SMS segment such as 0.0079, $0.0079 or 0.80 KES; blank: no estimate."


@dataclass(frozen=True)
class Price:
    amount: Decimal  # per segment, at most six decimals
    currency: str = ""  # a symbol ($) or a three-letter code (KES), or none

    @property
    def _prefix(self) -> bool:
        return len(self.currency) == 1

    def format(self, amount: Decimal | None = None) -> str:
        value = self.amount if amount is None else amount
        if not self.currency:
            return str(value)
        return f"{self.currency}{value}" if self._prefix else f"{value} {self.currency}"

    def times(self, count: int) -> Decimal:
        return self.amount * count  # keeps the price's decimals: exact

    def __str__(self) -> str:
        return self.format()

    def data_attributes(self) -> dict[str, str]:
        """The price as the page's script takes it: integer minor units and their scale."""
        scale = max(0, -self.amount.as_tuple().exponent)
        return {"price-units": str(int(self.amount.scaleb(scale))), "price-scale": str(scale),
                "price-prefix": self.currency if self._prefix else "",
                "price-suffix": f" {self.currency}" if self.currency and not self._prefix else ""}


def parse_price(value: Any) -> Price | None:
    """The setting's text (None or blank: off). ValueError with the words to show otherwise."""
    text = str(value or "").strip().upper().replace(",", ".")
    if not text:
        return None
    m = _PRICE_RE.match(text)
    if not m or (m.group("pre") and m.group("post")):
        raise ValueError(PRICE_HELP)
    amount = Decimal(m.group("amount"))
    if amount > MAX_PRICE:
        raise ValueError(f"At most {MAX_PRICE} per segment.")
    return Price(amount, m.group("pre") or m.group("post") or "")


def validate_price(value: Any) -> str | None:
    """What the Settings store: the price in one canonical spelling, or None (off)."""
    price = parse_price(value)
    return None if price is None else str(price)


def project_price(session: Session, project_id: int) -> Price | None:
    try:
        return parse_price(get_project(session, project_id).price_per_segment)
    except ValueError:
        return None  # a value stored by hand that the setting would refuse: no estimate


def composer_price(session: Session, actor: Actor, project_id: int) -> Price | None:
    """The price per segment the chat's live counter multiplies by (None: not set)."""
    require(session, actor, project_id, Action.CHAT)
    return project_price(session, project_id)


@dataclass(frozen=True)
class Estimate:
    segments: int  # per recipient
    encoding: str
    recipients: int | None  # None: the recipients are not chosen yet
    price: Price | None
    culprits: list[str]  # the characters that force Unicode
    segments_with_lookalikes: int  # what the same text needs after the look-alike replacement

    @property
    def total_segments(self) -> int | None:
        return None if self.recipients is None else self.segments * self.recipients

    @property
    def cost(self) -> Decimal | None:
        total = self.total_segments
        return None if self.price is None or total is None else self.price.times(total)

    def describe(self) -> str:
        """One line for the page, e.g. "2 SMS × 1,204 recipients × $0.0079 = $19.0232"."""
        per = f"{self.segments} SMS ({self.encoding})"
        if self.recipients is None:
            line = f"{per} per recipient"
        else:
            line = f"{per} × {self.recipients:,} recipient{'s' if self.recipients != 1 else ''}"
            line += f" = {self.total_segments:,} SMS"
            if self.price is not None:
                line += f" × {self.price} = {self.price.format(self.cost)}"
        return line


def estimate(session: Session, project_id: int, body: str, target: dict[str, Any] | None) -> Estimate:
    info = count_segments(body or "")
    try:
        recipients = groups.count_recipients(session, project_id, groups.validate_target(session, project_id, target))
    except (ValidationError, NotFound):
        recipients = None
    return Estimate(segments=info.segments, encoding=info.encoding, recipients=recipients,
                    price=project_price(session, project_id), culprits=unicode_culprits(body or ""),
                    segments_with_lookalikes=count_segments(with_lookalikes(body or "")).segments)


def automation_estimate(session: Session, actor: Actor, project_id: int, body: str,
                        target: dict[str, Any] | None) -> Estimate:
    """Before a broadcast or reminder is saved: its segments × recipients × price."""
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    return estimate(session, project_id, body, target)
