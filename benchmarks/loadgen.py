"""A lean closed-loop HTTP/1.1 load generator and per-process CPU accounting for bench_server.py.

The client runs on the same cores as the server, so what it spends per request is taken from
the server; ``http.client`` parses every response's headers with the ``email`` package, which
costs about as much CPU as a bare Flask route. :class:`RawClient` writes prebuilt request bytes
to a keep-alive socket and reads the status line, the few headers it needs and the body by
``Content-Length``, so that the bare route's measurement is not capped by the load generator.
:func:`process_tree_cpu` reads the CPU seconds of a server's processes from ``/proc`` so that
the cost per request can be compared independently of the client.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


class RawClient:
    """One keep-alive connection with a session cookie; ``request`` returns (status, location, body)."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.cookie = ""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def request(self, method: str, path: str, body: str = "") -> tuple[int, str, str]:
        """Send one request and read its whole response (raises OSError on a broken connection)."""
        if self.sock is None:
            self.sock = self._connect()
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        if self.cookie:
            head += f"Cookie: {self.cookie}\r\n"
        if body or method == "POST":
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        try:
            self.sock.sendall((head + "\r\n" + body).encode())
            return self._response()
        except OSError:
            self.close()
            raise

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)  # type: ignore[union-attr]
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        found, self.buffer = self.buffer.split(marker, 1)
        return found

    def _response(self) -> tuple[int, str, str]:
        lines = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, location, close = 0, "", False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "location":
                location = value.strip()
            elif name == "set-cookie":
                self.cookie = value.strip().split(";", 1)[0]
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        while len(self.buffer) < length:
            chunk = self.sock.recv(65536)  # type: ignore[union-attr]
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        if close:
            self.close()
        return status, location, body.decode("utf-8", "replace")


def process_tree_cpu(root_pid: int) -> float:
    """CPU seconds (user + system) used so far by ``root_pid`` and all its live descendants."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
        pid = int(entry.name)
        stats[pid] = fields
        children.setdefault(int(fields[1]), []).append(pid)
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += int(stats[pid][11]) + int(stats[pid][12])  # utime, stime
        todo.extend(children.get(pid, []))
    return total / TICKS


def closed_loop(
    prepare: Callable[[int], Iterator[int]], threads: int, seconds: float, cpu_roots: list[int]
) -> dict[str, Any]:
    """Run ``threads`` clients for ``seconds`` after each has run its untimed set-up.

    ``prepare(k)`` does client ``k``'s set-up and returns an iterator whose every ``next()`` sends
    requests and yields how many it sent; when one runs out, a new one is prepared inside the
    timed window (its set-up counts in the time, not in the requests). Returns requests per
    second, the server's CPU ms per request (processes under ``cpu_roots``), the client's CPU ms
    per request, the most requests one client sent, how many set-ups ran inside the window, and
    errors (first message).
    """
    counts = [0] * threads
    refills = [0] * threads
    errors: list[str] = []
    ready = threading.Barrier(threads + 1)
    window: dict[str, float] = {}

    def worker(k: int) -> None:
        steps: Iterator[int] | None = None
        try:
            steps = prepare(k)
        except Exception as error:  # noqa: BLE001 - reported
            errors.append(f"set-up: {error!r}"[:300])
        ready.wait()
        ready.wait()  # the clock has started
        while steps is not None and time.monotonic() < window["stop"]:
            try:
                counts[k] += next(steps)
            except StopIteration:
                refills[k] += 1
                steps = prepare(k + 1000 * refills[k])
            except Exception as error:  # noqa: BLE001 - reported; this client stops
                errors.append(repr(error)[:300])
                steps = None

    pool = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(threads)]
    for t in pool:
        t.start()
    ready.wait()  # every client is set up
    server0, client0 = sum(process_tree_cpu(p) for p in cpu_roots), time.process_time()
    began = time.monotonic()
    window["stop"] = began + seconds
    ready.wait()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - began
    server1, client1 = sum(process_tree_cpu(p) for p in cpu_roots), time.process_time()
    n = max(sum(counts), 1)
    return {
        "rps": sum(counts) / elapsed,
        "server_cpu_ms": (server1 - server0) / n * 1000,
        "client_cpu_ms": (client1 - client0) / n * 1000,
        "most_per_client": max(counts),
        "refills": sum(refills),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }
