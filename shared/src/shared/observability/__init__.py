"""Logging with correlation ids, Prometheus metrics, health checks."""
