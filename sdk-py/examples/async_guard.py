"""The async client: the same calls, awaited; guard() awaits a coroutine function's result."""

import asyncio

from oakauth import AsyncOakAuth


async def read_report() -> str:
    await asyncio.sleep(0)  # the real tool's I/O
    return "report contents"


async def main() -> None:
    async with AsyncOakAuth() as oak:
        text = await oak.guard("filesystem", "read", read_report, reasoning="summarize the report")
        print(f"allowed: {text}")
        decisions = await asyncio.gather(*(oak.validate("filesystem", scope) for scope in ("read", "write")))
        print([(d.reason, d.allowed) for d in decisions])


asyncio.run(main())
