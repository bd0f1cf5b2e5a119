from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings


class IntakeSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "intake"
    model_config = SettingsConfigDict(env_prefix="INTAKE_")

    port: int = 8001
    metrics_port: int = 9101
