"""Moving parked messages back into a service's queue, once their cause is fixed.

Run through the service, so it uses the service's own settings:
`python -m workflow replay-parked [--limit N]`. Each message is re-published to the main
queue with its attempt count reset (confirmed), then removed from the parking queue; a
crash in between leaves a copy in both, and the inbox applies it once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.messaging.broker import Broker
from shared.messaging.consumer import ATTEMPT_HEADER


async def replay_parked(broker: Broker, service: str, limit: int | None = None) -> int:
    topology = broker.topology
    channel = await broker.channel()
    queue = await channel.declare_queue(topology.parked_queue(service), passive=True)
    moved = 0
    while limit is None or moved < limit:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        headers = {
            k: v
            for k, v in (message.headers or {}).items()
            if k not in {ATTEMPT_HEADER, "x-park-reason", "x-parked-at", "x-last-error"}
        }
        await broker.send_to_queue(
            topology.queue(service),
            message.body,
            message_id=message.message_id,
            type=message.type,
            correlation_id=message.correlation_id,
            app_id=message.app_id,
            headers={**headers, "x-replayed-at": datetime.now(UTC).isoformat()},
        )
        await message.ack()
        moved += 1
    await channel.close()
    return moved


def main(argv: list[str] | None = None) -> None:
    """`python -m shared.messaging.replay SERVICE --amqp-url URL [--namespace dvc]`: the
    same as `python -m SERVICE replay-parked`, for a broker named on the command line."""
    import argparse
    import asyncio

    from shared.messaging.topology import Topology

    parser = argparse.ArgumentParser(prog="python -m shared.messaging.replay")
    parser.add_argument("service")
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--namespace", default="dvc")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)

    async def run() -> int:
        broker = Broker(args.amqp_url, Topology(namespace=args.namespace), name="replay")
        await broker.connect()
        try:
            return await replay_parked(broker, args.service, args.limit)
        finally:
            await broker.close()

    moved = asyncio.run(run())
    print(f"replayed {moved} parked message(s) into {args.namespace}.{args.service}")


if __name__ == "__main__":
    main()
