"""The door's wire on its own: messages in order, and a descriptor queued behind a full socket still reaches
the other side intact after its sender closed its own copy (the door closes a handed-over socket at once)."""

from __future__ import annotations

import asyncio
import os
import pickle
import socket

from sources.stratum.door_wire import Link


def test_a_queued_descriptor_survives_the_sender_closing_it() -> None:
    async def main() -> None:
        here, there = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        link = Link(here, lambda message, fds: None, lambda: None)
        filler = ("stats", {}, [(0, (("reason", "x" * 4000),), 1.0)])
        sent = 0
        while not link._writing:  # noqa: SLF001 - fill the socket until messages queue up
            link.send(filler)
            sent += 1
        r, w = os.pipe()
        link.send(("adopt", "the pipe"), [r])
        os.close(r)  # the sender's copy: the queued message holds its own
        os.write(w, b"still open")
        received: list[tuple[object, list[int]]] = []
        there.setblocking(False)
        while len(received) < sent + 1:
            try:
                data, fds, _, _ = socket.recv_fds(there, 1 << 20, 4)
            except BlockingIOError:
                await asyncio.sleep(0.01)  # the link writes the rest as the socket drains
                continue
            received.append((pickle.loads(data), fds))
        message, fds = received[-1]
        assert message == ("adopt", "the pipe") and len(fds) == 1
        assert os.read(fds[0], 64) == b"still open"
        assert all(m == filler and not f for m, f in received[:-1])
        for fd in (*fds, w):
            os.close(fd)
        link.close()
        there.close()

    asyncio.run(main())
