"""The Optuna storage every study lives in: the single source of truth for results.

``sqlite`` (default): one file under results_dir, no server, one machine. ``journal``: Optuna's
journal file, for several processes on one machine. ``postgres``: a PostgreSQL server, for any
number of workers on any number of machines; its URL comes from an environment variable so that
the password never lands in a config, a log, a result or a report.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from omegaconf import DictConfig
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from bench.config import ConfigError
from bench.sweep.reads import FastRDBStorage

__all__ = [
    "STORAGE_ERRORS",
    "STORAGES",
    "check_storage",
    "describe",
    "error_line",
    "mask_url",
    "open_storage",
    "opened_storage",
    "set_aside_torn_line",
    "storage_url",
]

STORAGES = ("sqlite", "journal", "postgres")
#: What a storage raises when its server or file fails under a running sweep.
STORAGE_ERRORS = (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError, OSError)
#: What to install for a database driver a URL names (``postgresql://`` means psycopg 3).
#: Bytes read at a time, from the end, looking for the journal's last newline.
_BLOCK = 1 << 16
_DRIVER_PACKAGES = {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary"}


def storage_url(storage: DictConfig, results_dir: str | Path) -> str:
    """The storage's URL or journal path (may hold a password: show only ``mask_url`` of it)."""
    if storage.kind == "journal":
        path = storage.path or Path(results_dir) / "journal.log"
        return str(Path(path).resolve())
    if storage.url:
        return str(storage.url)
    if storage.kind == "postgres":
        url = os.environ.get(storage.url_env)
        if not url:
            raise ConfigError(
                f"storage=postgres needs its URL in ${storage.url_env}; allowed: "
                f"export {storage.url_env}=postgresql://user:password@host/db"
            )
        return url
    return f"sqlite:///{Path(results_dir).resolve() / 'bench.db'}"


def mask_url(text: str) -> str:
    """``text`` with the password of any URL in it replaced by ``***``."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def describe(storage: DictConfig, results_dir: str | Path) -> str:
    """The storage as it may be shown: kind and masked URL or path."""
    return f"{storage.kind} {mask_url(storage_url(storage, results_dir))}"


def check_storage(storage: DictConfig, results_dir: str | Path) -> str:
    """The storage's URL, refused in one line (without connecting) where its kind is unknown, its
    URL is missing or malformed, or the database driver the URL names is not installed."""
    if storage.kind not in STORAGES:
        raise ConfigError(
            f"storage.kind={storage.kind!r} is unknown; allowed: {', '.join(STORAGES)}"
        )
    for key in ("heartbeat_interval", "grace_period"):
        value = storage[key]
        if value is not None and value < 1:
            raise ConfigError(
                f"storage.{key}={value} is invalid; allowed: seconds >= 1"
                + (" or null" if key == "grace_period" else "")
            )
    url = storage_url(storage, results_dir)
    if storage.kind == "journal":
        _check_directory(Path(url).parent, "storage.path")
    else:
        _check_driver(url)
    return url


def _check_directory(directory: Path, key: str) -> None:
    """Refuse, without creating anything, a directory that cannot be created or written."""
    existing = next(p for p in (directory, *directory.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{key}={str(directory)!r} is not writable; allowed: a writable directory"
        )


def _check_driver(url: str) -> None:
    try:
        parsed = sqlalchemy.engine.make_url(url)
        dialect = parsed.get_dialect()
    except Exception as error:  # noqa: BLE001 - SQLAlchemy raises several kinds for a bad URL
        raise ConfigError(
            f"storage {mask_url(url)} is not a usable database URL ({error_line(error)}); "
            "allowed: sqlite:///path or postgresql://user:password@host/db"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError:
        driver = parsed.get_driver_name()
        package = _DRIVER_PACKAGES.get(driver, driver)
        raise ConfigError(
            f"storage {mask_url(url)} needs the database driver {driver!r}, which is not "
            f"installed; allowed: pip install {package} (or pip install -e '.[postgres]'), or a "
            "URL naming an installed driver (postgresql+psycopg://, postgresql+psycopg2://)"
        ) from None


def open_storage(storage: DictConfig, results_dir: str | Path) -> optuna.storages.BaseStorage:
    """Open (creating if needed) the configured storage, or refuse in one line."""
    url = check_storage(storage, results_dir)
    try:
        if storage.kind == "journal":
            return _journal(url)
        rdb = _rdb(url, storage)
    except ConfigError:
        raise
    except Exception as error:  # noqa: BLE001 - SQLAlchemy and drivers raise many kinds
        raise ConfigError(
            f"storage {mask_url(url)} cannot be opened: {error_line(error)}; allowed: a reachable "
            f"{storage.kind} storage"
        ) from None
    if url.startswith("sqlite"):
        _fast_sqlite(rdb)
    return rdb


@contextlib.contextmanager
def opened_storage(
    storage: DictConfig, results_dir: str | Path
) -> Iterator[optuna.storages.BaseStorage]:
    """The configured storage (``open_storage``) for one run, its database connections closed as
    the run ends (it reconnects if used again): SQLite folds its write-ahead log back into the
    one file that users copy, and deletes the log."""
    opened = open_storage(storage, results_dir)
    try:
        yield opened
    finally:
        if isinstance(opened, optuna.storages.RDBStorage):
            opened.engine.dispose()


def _rdb(url: str, storage: DictConfig) -> FastRDBStorage:
    """The RDB storage. Processes opening one SQLite file take turns: two that create a fresh
    database at the same moment (parallel jobs of a multirun) would both create its tables."""

    def rdb() -> FastRDBStorage:
        return FastRDBStorage(
            url,
            heartbeat_interval=storage.heartbeat_interval,
            grace_period=storage.grace_period,
            engine_kwargs=_engine_kwargs(url),
        )

    if not url.startswith("sqlite:///"):
        return rdb()
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return rdb()


def _journal(path: str) -> optuna.storages.JournalStorage:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(_JournalFile(path))


class _JournalFile(JournalFileBackend):
    """Optuna's journal file, which sets a torn last line aside before it appends.

    A write cut short (a full disk, a crash) leaves a last line without its newline. Optuna's
    reader skips it, but the next append would glue a new record onto it, and that one invalid
    line in the middle of the file makes the study unreadable for good.
    """

    def __init__(self, path: str) -> None:
        # The same lock file (path + ".lock") that Optuna's own writers take.
        self.lock = JournalFileSymlinkLock(path)
        self.path = Path(path)
        super().__init__(path, lock_obj=self.lock)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append the records, as Optuna does, after setting aside a torn last line."""
        data = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode()
        self.lock.acquire()
        try:
            set_aside_torn_line(self.path)
            with open(self.path, "ab") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        finally:
            self.lock.release()


def set_aside_torn_line(path: Path) -> int:
    """Move an incomplete last line of the journal ``path`` to ``<path>.torn``; return its
    length in bytes (0: the journal ended with a complete line). Call under the journal's lock."""
    with open(path, "rb+") as journal:
        size = journal.seek(0, os.SEEK_END)
        end = size
        while end > 0:
            start = max(0, end - _BLOCK)
            journal.seek(start)
            block = journal.read(end - start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        if end == size:
            return 0
        journal.seek(end)
        torn = journal.read()
        side = path.with_name(path.name + ".torn")
        # Kept, never deleted: the bytes of a record that never finished being written.
        with open(side, "ab") as kept:
            kept.write(torn + b"\n")
            kept.flush()
            os.fsync(kept.fileno())
        journal.truncate(end)
        journal.flush()
        os.fsync(journal.fileno())
    print(
        f"bench: {path.name} ended in an incomplete line ({len(torn)} bytes, a write cut short); "
        f"set aside in {side.name}, the study resumes without it",
        file=sys.stderr,
    )
    return len(torn)


def _engine_kwargs(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}
    # A restarted server leaves dead pooled connections: test each one before use.
    return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}


def error_line(error: BaseException) -> str:
    """The first informative line of a storage error, without any password."""
    text = str(getattr(error, "orig", None) or error).strip()
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(error).__name__)
    return mask_url(line)


def _fast_sqlite(storage: optuna.storages.RDBStorage) -> None:
    """Write-ahead logging, synced at checkpoints: each commit costs ~0.1 ms instead of an fsync.

    A killed process loses nothing committed (only a power cut can lose the last commits), and
    readers such as optuna-dashboard no longer block the writers.
    """

    def on_connect(connection, _record) -> None:  # noqa: ANN001 - DB-API objects
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    sqlalchemy.event.listen(storage.engine, "connect", on_connect)
    storage.engine.dispose()
