from intake.bootstrap import build
from shared.runtime import run_cli

run_cli(build)
