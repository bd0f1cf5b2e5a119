from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings


class StatsSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "stats"
    model_config = SettingsConfigDict(env_prefix="STATS_")

    port: int = 8004
    metrics_port: int = 9104
