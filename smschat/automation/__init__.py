"""Reminders, broadcasts, keywords, SMS surveys, the delay rule and their schedule."""
