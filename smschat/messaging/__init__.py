"""The outbox, the worker that sends it, inbound SMS, segments, rate limits, opt-out."""
