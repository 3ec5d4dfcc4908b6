"""Contacts (mobile workers and cases), their phone numbers, verification, imports."""
