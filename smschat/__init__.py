"""smschat: an SMS chat window for health and field programs."""

__version__ = "0.1.0"
