"""HTTP pieces every service's FastAPI app shares: problem+json errors, the request
middleware (correlation id, latency metric, access log) and the health endpoints."""
