"""The receiver: registry webhooks in, jobs out; and the management API."""
