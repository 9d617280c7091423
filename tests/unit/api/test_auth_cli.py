"""`poolstream users`: while another process holds the chDB directory (its flock on `status`, as
`poolstream run` does), the command answers with one line naming the fix, not a traceback."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from poolstream.cli import main
from poolstream.cli_users import chdb_in_use


def test_a_held_chdb_directory_is_one_line_naming_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "status").write_text("PID: 1\n")
    dsn = f"chdb://{tmp_path}"
    assert not chdb_in_use(dsn) and not chdb_in_use("chdb://memory")
    with open(tmp_path / "status", "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a separate open file: a lock like another process's
        assert chdb_in_use(dsn)
        monkeypatch.setenv("CLICKHOUSE_DSN", dsn)
        with pytest.raises(SystemExit) as exited:
            main(["users", "key", "alice"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "poolstream run" in err and "POST /api/v1/auth/api-key" in err


def test_create_needs_a_password_source(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(SystemExit) as exited:
        main(["users", "create", "bob", "--role", "admin"])
    assert exited.value.code == 2 and "--password-stdin" in capsys.readouterr().err
