"""Twilio's error codes as smschat meets them: the words shown for a code, and which codes
are temporary (retried) rather than final."""

from __future__ import annotations

# Twilio's texts for the codes we meet most; anything else keeps Twilio's own message.
ERROR_TEXTS = {
    "21211": "Invalid 'To' phone number",
    "21408": "Permission to send an SMS has not been enabled for the region",
    "21610": "The recipient has opted out (replied STOP)",
    "21614": "'To' number is not a valid mobile number",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered by the carrier",
    "30008": "Unknown error",
}
TEMPORARY_CODES = {"20429", "20500", "20503", "30001"}


def error_text(code: str | None) -> str | None:
    """Status callbacks carry only the code: give the chat Twilio's words for it."""
    if not code:
        return None
    return ERROR_TEXTS.get(str(code), f"Twilio error {code}")
