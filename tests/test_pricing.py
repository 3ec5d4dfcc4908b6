"""The price per segment (a project setting) and the cost estimates built on it."""

from decimal import Decimal

import pytest

from smschat.accounts.actor import OPERATOR
from smschat.automation import groups
from smschat.chat.settings import SettingsInvalid, current_settings, update_settings
from smschat.messaging import pricing
from smschat.messaging.pricing import Price, parse_price
from smschat.people import contacts


@pytest.mark.parametrize("text,price", [
    ("0.0079", Price(Decimal("0.0079"))),
    ("$0.0079", Price(Decimal("0.0079"), "$")),
    (" 0,80 kes ", Price(Decimal("0.80"), "KES")),
    ("EUR 0.05", Price(Decimal("0.05"), "EUR")),
    ("", None),
    (None, None),
])
def test_prices_are_read_as_exact_decimals_with_an_optional_currency(text, price):
    assert parse_price(text) == price


@pytest.mark.parametrize("text", ["abc", "-1", "0.1234567", "$0.01 USD", "1e-3", "1000", "101"])
def test_a_price_that_is_not_a_decimal_amount_is_refused(text):
    with pytest.raises(ValueError):
        parse_price(text)


def test_cost_is_exact_and_worded_with_the_currency():
    assert Price(Decimal("0.0079"), "$").format(Price(Decimal("0.0079")).times(3)) == "$0.0237"
    assert Price(Decimal("0.80"), "KES").format(Decimal("0.80") * 2) == "1.60 KES"
    assert Price(Decimal("0.0079"), "$").data_attributes() == {
        "price-units": "79", "price-scale": "4", "price-prefix": "$", "price-suffix": ""}


def test_the_setting_is_validated_saved_and_off_when_blank(session, project):
    assert current_settings(session, project.id)["price_per_segment"] is None
    with pytest.raises(SettingsInvalid) as err:
        update_settings(session, OPERATOR, project.id, {"price_per_segment": "cheap"})
    assert "price_per_segment" in err.value.errors
    update_settings(session, OPERATOR, project.id, {"price_per_segment": "$0.0079"})
    assert pricing.composer_price(session, OPERATOR, project.id) == Price(Decimal("0.0079"), "$")
    update_settings(session, OPERATOR, project.id, {"price_per_segment": "  "})
    assert pricing.composer_price(session, OPERATOR, project.id) is None


def test_broadcast_estimate_is_segments_times_recipients_times_price(session, project):
    for i in range(3):
        case = contacts.create_contact(session, project, "case", f"case {i}")
        contacts.register_phone(session, project, case, f"+1703555010{i}")
    session.commit()
    update_settings(session, OPERATOR, project.id, {"price_per_segment": "$0.0079"})
    body = "“Clinic” closes at 5 " + "x" * 60  # curly quotes: UCS-2, 81 units, 2 SMS
    est = pricing.automation_estimate(session, OPERATOR, project.id, body, {"kind": "cases"})
    assert est.recipients == groups.count_recipients(session, project.id, {"kind": "cases"}) == 3
    assert (est.segments, est.encoding, est.segments_with_lookalikes) == (2, "UCS-2", 1)
    assert est.cost == Decimal("0.0474")
    assert est.describe() == "2 SMS (UCS-2) × 3 recipients = 6 SMS × $0.0079 = $0.0474"
    unpicked = pricing.automation_estimate(session, OPERATOR, project.id, body, {"kind": "case_property"})
    assert unpicked.recipients is None and unpicked.cost is None
    assert unpicked.describe() == "2 SMS (UCS-2) per recipient"
