"""An SMTP server on 127.0.0.1 that only counts what it accepts, in a process of its own.

`python -m bench.sink` prints its port, serves until its standard input closes, then
prints how many messages it accepted. Counting only, and reading the message data in
bulk, keep the server from being the bottleneck of what the benchmark measures.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

from aiosmtpd.smtp import SMTP

from bench.generate import REPO


class Counter:
    """An aiosmtpd handler that accepts every message and keeps only the count."""

    def __init__(self) -> None:
        self.accepted = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted += 1
        return "250 OK"


END_OF_DATA = b"\r\n.\r\n"


class BulkSMTP(SMTP):
    """aiosmtpd reading DATA in large chunks instead of line by line.

    aiosmtpd's own DATA loop costs about 10 ms for a 200 KB message, which would make the
    server, not the sender, the bottleneck. Clients wait for the reply after the final
    dot, so the data ends exactly where a read ends with CRLF.CRLF.
    """

    async def smtp_DATA(self, arg: str) -> None:
        if self.envelope is None or not self.envelope.rcpt_tos or arg:
            await self.push("503 Error: need RCPT command")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        chunks: list[bytes] = []
        tail = b""
        while True:
            chunk = await self._reader.read(1 << 18)
            if not chunk:
                return  # the client went away mid-message
            chunks.append(chunk)
            window = tail + chunk[-len(END_OF_DATA) :]  # the end may straddle two reads
            if window.endswith(END_OF_DATA):
                break
            tail = window[-len(END_OF_DATA) :]
        self.envelope.content = self.envelope.original_content = b"".join(chunks)
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push(status)


async def serve() -> None:
    counter = Counter()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: BulkSMTP(counter, hostname="sink.localhost", ident="bench sink"), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark closes our stdin
    server.close()
    await server.wait_closed()
    print(counter.accepted, flush=True)


class Sink:
    """The counting server as a child process; a context manager giving its port."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.sink"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.accepted = 0

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> int:
        """Stop the server; returns how many messages it accepted."""
        if self.process.returncode is None:
            out, _ = self.process.communicate(timeout=60)
            self.accepted = int(out.strip() or 0)
        return self.accepted


if __name__ == "__main__":
    asyncio.run(serve())
