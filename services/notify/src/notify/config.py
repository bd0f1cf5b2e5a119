from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings


class NotifySettings(BaseServiceSettings):
    service_name: ClassVar[str] = "notify"
    model_config = SettingsConfigDict(env_prefix="NOTIFY_")

    port: int = 8003
    metrics_port: int = 9103
