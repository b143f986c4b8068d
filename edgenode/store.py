"""The node's SQLite store: the one place connections are opened and transactions begun.

One file per node, WAL mode, `synchronous=FULL` (a commit is on disk before it is acknowledged),
foreign keys on, a busy timeout. Writes go through `Store.write()`, which takes the write lock up front
(`BEGIN IMMEDIATE`) so a transaction never fails half-way for want of it. sqlite3's own exceptions are
mapped to `StoreError` here and nowhere else.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from edgenode.errors import StoreError

STORE_FILE = "node.db"


def _store_error(exc: sqlite3.Error, path: Path) -> StoreError:
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError(
            "STORE_002",
            f"节点数据库文件已损坏，无法读取：{path}",
            context={"path": str(path)},
            hint="请停止使用该节点，联系县级管理员从备份或上级节点恢复数据",
        )
    if "locked" in text or "busy" in text:
        return StoreError(
            "STORE_003",
            "节点数据库正被其他程序占用，请稍后重试",
            context={"path": str(path)},
        )
    return StoreError("STORE_004", f"数据库操作失败：{exc}", context={"path": str(path)})


class Store:
    """An open node database. Use as a context manager or call close()."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._batched = 0  # > 0 inside batch(): write() nests as a savepoint

    @classmethod
    def open(cls, path: Path, *, create: bool = False) -> "Store":
        path = Path(path)
        if not create and not path.exists():
            raise StoreError("STORE_001", f"找不到节点数据库：{path}", context={"path": str(path)},
                             hint="请先运行 edgenode init 创建节点")
        try:
            conn = sqlite3.connect(str(path), timeout=10)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise _store_error(exc, path) from None
        store = cls(path, conn)
        from edgenode.migrations import migrate

        with store.mapped_errors():
            migrate(store.db)
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def mapped_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from None

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """One all-or-nothing write transaction holding the write lock from its start. Inside `batch()` it is
        a savepoint instead: all-or-nothing on its own, durable with the batch's one commit."""
        with self.mapped_errors():
            if self.conn.in_transaction and self._batched:
                yield from self._savepoint()
                return
            if self.conn.in_transaction:
                raise StoreError("STORE_005", "内部错误：写事务不能嵌套")
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.conn.rollback()
                raise
            self.conn.commit()

    def _savepoint(self) -> Iterator[sqlite_utils.Database]:
        self._batched += 1
        name = f"w{self._batched}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield self.db
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._batched -= 1
        self.conn.execute(f"RELEASE {name}")

    @contextmanager
    def batch(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction (one commit, one fsync) for many changes, each `write()` within it a
        savepoint. The caller decides what an exception means: raised out of the block, all is rolled back."""
        if self._batched:
            with self.write() as db:  # within a batch already: one more savepoint
                yield db
            return
        with self.write() as db:
            self._batched = 1
            try:
                yield db
            finally:
                self._batched = 0

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        with self.mapped_errors():
            return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        with self.mapped_errors():
            return self.conn.execute(sql, params).fetchone()

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.query_one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Within a write transaction."""
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def next_counter(self, name: str) -> int:
        """Within a write transaction: the next value of a named gap-free counter."""
        self.conn.execute(
            "INSERT INTO counters(name, value) VALUES(?, 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1",
            (name,),
        )
        return self.conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0]
