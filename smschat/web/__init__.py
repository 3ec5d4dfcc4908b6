"""The HTTP surfaces: the webhooks app and its server, the dashboard's login routes and errors."""
