"""Environments for the settings tests: what every service needs to start in production,
under its own prefix, and one variable of it changed or taken away."""

from __future__ import annotations

from collections.abc import Mapping


def production_env(service: str) -> dict[str, str]:
    """The common settings of `service` as a production deployment gives them (none of
    them a development default), `<SERVICE>_` before each name."""
    prefix = service.upper()
    return {
        f"{prefix}_ENVIRONMENT": "production",
        f"{prefix}_DATABASE_URL": f"postgresql+asyncpg://{service}:pw@db.internal:5432/dvc_{service}",
        f"{prefix}_AMQP_URL": f"amqp://{service}:pw@rabbitmq.internal:5672/",
        f"{prefix}_S3_ENDPOINT": "minio.internal:9000",
        f"{prefix}_S3_ACCESS_KEY": f"{service}-service",
        f"{prefix}_S3_SECRET_KEY": "from-the-vault",
        f"{prefix}_JWT_SECRET": "also-from-the-vault",
    }


def with_value(env: Mapping[str, str], name: str, value: str | None) -> dict[str, str]:
    """`env` with `name` set to `value`, or without `name` if `value` is None."""
    return {k: v for k, v in {**env, name: value}.items() if v is not None}
