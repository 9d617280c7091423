"""Drives `poolstream` as a user does: the CLI as subprocesses, the API over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bus.publisher import Publisher, PublisherSettings
from poolstream import broker_service
from poolstream.broker import free_port
from schemas.share import Share, encode_json
from schemas.topics import TopicNames

POOLSTREAM = str(Path(sys.executable).with_name("poolstream"))


class System:
    """`poolstream run` in its own directory, on free ports; with `kafka_bootstrap`, on that broker instead of
    its embedded one (a broker that outlives a restart of poolstream)."""

    def __init__(self, workdir: Path, kafka_bootstrap: str = "") -> None:
        self.workdir = workdir
        self.api_port = free_port()
        self.env = {
            **os.environ,
            "API_PORT": str(self.api_port),
            "EMBEDDED_BROKER_PORT": str(free_port()),
            "STRATUM_SHA256D_PORT": str(free_port()),
            "STRATUM_SCRYPT_PORT": str(free_port()),
            "CLICKHOUSE_DSN": f"chdb://{workdir / 'data' / 'clickhouse'}",
            "LOG_LEVEL": "WARNING",
            # tests poll the API anonymously far more often than a person would (the limits are tested apart)
            "API_RATE_ANONYMOUS": "100000",
        }
        if kafka_bootstrap:
            self.env["KAFKA_BOOTSTRAP"] = kafka_bootstrap
        self.proc: subprocess.Popen[str] | None = None
        self.log = workdir / "poolstream.log"

    def start_nowait(self) -> None:
        self.proc = subprocess.Popen([POOLSTREAM, "run"], cwd=self.workdir, env=self.env, text=True,
                                     stdout=self.log.open("a"), stderr=subprocess.STDOUT)

    def start(self, timeout: float = 120.0) -> None:
        self.start_nowait()
        self.wait_for(lambda: self.get("/api/v1/admin/health").status_code == 200, timeout, "the API to be healthy")

    def stop(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        """kill -9 of `poolstream run` (the embedded broker, its own process, survives it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    @property
    def bootstrap(self) -> str:
        """Where clients find the broker poolstream uses (its embedded one unless KAFKA_BOOTSTRAP)."""
        return self.env.get("KAFKA_BOOTSTRAP") or f"127.0.0.1:{self.env['EMBEDDED_BROKER_PORT']}"

    def clickhouse(self, *queries: str) -> list[Any]:
        """The first value of each query, read from the system's chDB in a process of its own (chDB allows one
        data directory per process); poolstream must be stopped."""
        script = (
            "import json, sys\n"
            "from sinks.client import ClickHouseSettings, connect\n"
            f"c = connect(ClickHouseSettings(dsn={self.env['CLICKHOUSE_DSN']!r}))\n"
            "out = [c.query(q).result_rows[0][0] for q in json.loads(sys.argv[1])]\n"
            "c.close()\n"
            "print(json.dumps(out, default=float), flush=True)\n"
            "import os; os._exit(0)\n"
        )
        done = subprocess.run([sys.executable, "-c", script, json.dumps(list(queries))], cwd=self.workdir,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        result: list[Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    @property
    def broker_dir(self) -> Path:
        return self.workdir / "data" / "broker"

    def close(self) -> None:
        """End of a test: kill poolstream if it still runs, and stop its embedded broker."""
        self.kill()
        broker_service.stop(self.broker_dir)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.api_port}{path}", timeout=10)

    def data(self, path: str) -> Any:
        response = self.get(path)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True
        return body["data"]

    def simulate(self, *args: str) -> dict[str, Any]:
        return self.simulation(*args).report()

    def simulation(self, *args: str) -> Simulation:
        """`poolstream simulate` started in the background; `.report()` waits for it. Its output goes to files
        (a pipe nobody reads would block a long run once its progress lines fill it)."""
        stamp = time.monotonic_ns()
        report = self.workdir / f"report-{stamp}.json"
        out, err = self.workdir / f"simulate-{stamp}.out", self.workdir / f"simulate-{stamp}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen([POOLSTREAM, "simulate", *args, "--report", str(report)], cwd=self.workdir,
                                    env=self.env, stdout=stdout, stderr=stderr, text=True)
        return Simulation(proc, report, out, err)

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"poolstream exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                if predicate():
                    return
            except (httpx.HTTPError, AssertionError, KeyError) as exc:
                last = exc
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what} (last error: {last!r})\n{self.log.read_text()[-3000:]}")


class JsonProducer(threading.Thread):
    """An external Stratum server's view: one JSON share per message every `interval_s`, until stopped.
    `stop()` returns how many the broker acknowledged."""

    def __init__(self, bootstrap: str, miner: str, worker: str, interval_s: float = 0.02) -> None:
        super().__init__(daemon=True)
        self._publisher = Publisher(PublisherSettings(bootstrap))
        self._halt = threading.Event()
        self._miner, self._worker, self._interval_s = miner, worker, interval_s
        self.sent = 0

    def run(self) -> None:
        n = 0
        while not self._halt.wait(self._interval_s):
            share = Share(ts=int(time.time() * 1000), algorithm="sha256d", miner=self._miner, worker=self._worker,
                          difficulty=1.0, network_difficulty=1e12, job_id="j", extranonce2=f"{n:08x}", ntime=1,
                          nonce=n)
            self._publisher.publish(TopicNames().shares, encode_json(share), key=self._miner.encode())
            n += 1
        self._publisher.flush()
        self.sent = self._publisher.delivered

    def stop(self) -> int:
        self._halt.set()
        self.join(60)
        return self.sent


class Simulation:
    def __init__(self, proc: subprocess.Popen[str], report: Path, out: Path, err: Path) -> None:
        self.proc = proc
        self.path = report
        self._out, self._err = out, err

    def report(self, timeout: float = 300.0) -> dict[str, Any]:
        self.proc.wait(timeout)
        stderr = self._err.read_text()
        assert self.proc.returncode == 0, stderr[-3000:]
        result: dict[str, Any] = json.loads(self.path.read_text())
        result["_stdout"] = self._out.read_text()
        result["_stderr"] = stderr
        return result
