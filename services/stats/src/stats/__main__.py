from shared.runtime import run_cli
from stats.bootstrap import build

run_cli(build)
