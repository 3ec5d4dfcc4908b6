"""The chat window: history, sending, read markers, presence, templates, chat settings."""
