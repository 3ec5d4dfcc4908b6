"""Twilio's error codes as smschat meets them: the words shown for a code, what staff can do
about it, and which codes are temporary (retried) rather than final."""

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

# What staff can do about a code, shown after Twilio's words. 21610, 21211, 21614 and 30006
# also mark the number itself (smschat.people.number_facts).
ADVICE = {
    "20003": "Tell an administrator: Twilio refused the account's credentials.",
    "21211": "Check the number with the contact and correct it.",
    "21408": "Tell an administrator: SMS to this country must be enabled in Twilio's geo permissions.",
    "21606": "Tell an administrator: the sender number cannot send SMS.",
    "21610": "Only the contact can opt back in, by replying START.",
    "21612": "This sender cannot reach the number; a messaging service or another sender number may.",
    "21614": "Ask the contact for a mobile number.",
    "21617": "Shorten the message.",
    "30003": "The phone is off or out of coverage: try again later.",
    "30004": "The contact or their carrier blocks these messages: ask them to allow this sender.",
    "30005": "The number may no longer exist: check it with the contact.",
    "30006": "Ask the contact for a mobile number.",
    "30007": "The carrier took it for spam: rephrase it (no shortened links) or register the sender.",
    "30008": "Try again later; if it repeats, tell an administrator (Twilio support needs the message SID).",
    "30034": "Tell an administrator: the sender number is not registered for A2P 10DLC.",
}


def with_advice(code: str | None, text: str) -> str:
    """Twilio's words for an error, followed by what staff can do about it (when we know)."""
    advice = ADVICE.get(str(code or ""))
    return f"{text} — {advice}" if advice and advice not in text else text


def error_text(code: str | None) -> str | None:
    """Status callbacks carry only the code: give the chat Twilio's words for it, and advice."""
    if not code:
        return None
    return with_advice(code, ERROR_TEXTS.get(str(code), f"Twilio error {code}"))
