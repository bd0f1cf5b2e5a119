from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings


class StatsSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "stats"
    model_config = SettingsConfigDict(env_prefix="STATS_")

    port: int = 8004
    metrics_port: int = 9104
    # The public list shows applicants' names masked ("Nguyễn T*** B***") unless this is set.
    public_full_names: bool = False
    # How often the operations gauges (dossiers by status and agency…) are refreshed.
    gauges_seconds: float = 30.0
