"""`python -m intake api|consume|relay|all|migrate|replay-parked`, and
`reconcile-payments --date YYYY-MM-DD`: the day's payments against the gateway's report."""

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import date

from intake.adapters.gateway import GatewayUnavailable
from intake.bootstrap import build, payment_gateway
from intake.config import IntakeSettings
from intake.services.payments import reconcile, refunds_due
from shared.db import Database
from shared.runtime import run_cli


def reconcile_cli(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m intake reconcile-payments",
        description="Compare the payments of a day (Vietnam time) with the gateway's daily "
        "report; print each mismatch, one a line, then each payment flagged for refund "
        "that day; exit 1 when there is any mismatch.",
    )
    parser.add_argument("--date", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    args = parser.parse_args(argv)
    settings = IntakeSettings()

    async def run() -> tuple[list[str], list[str]]:
        db = Database(settings.database_url)
        try:
            found = await reconcile(db, payment_gateway(settings), args.date)
            return [m.line() for m in found], [r.line() for r in await refunds_due(db, args.date)]
        finally:
            await db.dispose()

    try:
        lines, refunds = asyncio.run(run())
    except GatewayUnavailable as failure:
        # Not a mismatch: nothing could be compared (exit code 2, as argparse's errors).
        print(f"reconcile-payments: {failure}", file=sys.stderr)
        sys.exit(2)
    for line in lines + refunds:
        print(line)
    # A refund due is no mismatch: the bank took the money and the portal knows it owes it.
    print(f"{args.date}: {len(lines)} mismatch(es), {len(refunds)} refund(s) due", file=sys.stderr)
    sys.exit(1 if lines else 0)


if sys.argv[1:2] == ["reconcile-payments"]:
    reconcile_cli(sys.argv[2:])
else:
    run_cli(build)
