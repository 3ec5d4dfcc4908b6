"""The message log: filters, queries, charts and streaming exports."""
