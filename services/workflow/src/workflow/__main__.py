"""`python -m workflow api|consume|relay|all|migrate|replay-parked`, and `create-admin`:
the first administrator of a fresh installation (who then staffs the units)."""

import argparse
import asyncio
import sys
from collections.abc import Sequence

from shared.db import Database
from shared.errors import Refused
from shared.runtime import run_cli
from workflow.bootstrap import build
from workflow.config import WorkflowSettings
from workflow.services.officers import create_admin


def create_admin_cli(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m workflow create-admin",
        description="Create an administrator of a unit; prints a temporary password that "
        "must be changed at first sign-in. Run `python -m workflow migrate` first.",
    )
    parser.add_argument("--username", required=True)
    parser.add_argument("--full-name", required=True)
    parser.add_argument("--agency", required=True, help="the unit's code, e.g. G01.306.000.000")
    parser.add_argument("--phone")
    parser.add_argument("--email")
    args = parser.parse_args(argv)
    settings = WorkflowSettings()

    async def run() -> str:
        db = Database(settings.database_url)
        try:
            return await create_admin(
                db, username=args.username, full_name=args.full_name,
                agency_code=args.agency, phone=args.phone, email=args.email,
            )  # fmt: skip
        finally:
            await db.dispose()

    try:
        password = asyncio.run(run())
    except Refused as refused:
        sys.exit(f"create-admin: {refused.detail}")
    print(f"administrator {args.username} of {args.agency} created")
    print(f"temporary password (change it at first sign-in): {password}")


if sys.argv[1:2] == ["create-admin"]:
    create_admin_cli(sys.argv[2:])
else:
    run_cli(build)
