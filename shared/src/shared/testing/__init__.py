"""Test support against the real parts: PostgreSQL databases, a RabbitMQ vhost, and a
SeaweedFS object store process. Loaded as a pytest plugin by the root conftest."""
