from shared.runtime import run_cli
from workflow.bootstrap import build

run_cli(build)
