"""Notify: SMS and email from templates, with delivery status and retries."""
