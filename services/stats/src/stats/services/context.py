"""What stats's use cases need: the runtime's parts, nothing of its own."""

from shared.runtime import Resources
from stats.config import StatsSettings

Context = Resources[StatsSettings]
