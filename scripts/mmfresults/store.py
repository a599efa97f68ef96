"""The performance-history store: run folders in SQLite or PostgreSQL.

One schema (SCHEMA below, version "mmf-history/1") on both engines:

  meta(key, value)                    schema version
  machines(fingerprint, summary, components)
                                      fingerprint: 16 hex digits (fingerprint.py);
                                      components: its canonical JSON
  runs(run_id, fingerprint, revision, dirty, run_time, profile, host, source, ingested)
                                      run_id: 16 hex digits of the SHA-256 of
                                      the ingested files (names + canonical JSON),
                                      so the same run folder is stored once;
                                      run_time: ISO 8601 UTC of the run
  measurements(run_id, driver, benchmark, metric, unit, repetition, value)
                                      one row per repetition of a Google Benchmark
                                      row (run_type "iteration"): metric real_time
                                      and cpu_time (unit ns/us/ms/s as the driver
                                      wrote it), bytes_per_second (B/s),
                                      items_per_second (1/s), user counters (unit "")
  stages(run_id, stage, verdict, reason, seconds)
  stage_counts(run_id, stage, name, value)
                                      the run's stage records (mmf-stage/1)
  documents(run_id, name, body)       every other JSON of the folder verbatim
                                      (context.json, crash.json, machine.json...)

Every statement is a constant string with placeholders: names, revisions and
context fields come from other machines and are untrusted text (issue 16);
nothing is ever formatted into SQL. Statements are written with "?" and
turned into psycopg2's "%s" for PostgreSQL (no statement holds a literal ?
or %).

Errors: StoreError (a files.ResultError, so one line and exit 1) for a store
that cannot be opened, is not a history store (an empty 0-byte file, another
file, another schema, a damaged database), or cannot be written (a full disk:
the transaction is rolled back, the store keeps what it held).

A new SQLite store is made whole or not at all: its schema is written to a
temporary file in the same folder, synced, and linked into place, so a full
disk or a kill leaves no empty or half-made store behind.
"""
import os
import sqlite3

from .files import ResultError, temp_beside

SCHEMA_VERSION = "mmf-history/1"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS machines (fingerprint TEXT PRIMARY KEY, summary TEXT NOT NULL,"
    " components TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY,"
    " fingerprint TEXT NOT NULL REFERENCES machines(fingerprint),"
    " revision TEXT NOT NULL, dirty INTEGER NOT NULL, run_time TEXT NOT NULL,"
    " profile TEXT NOT NULL, host TEXT NOT NULL, source TEXT NOT NULL, ingested TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS measurements (run_id TEXT NOT NULL REFERENCES runs(run_id),"
    " driver TEXT NOT NULL, benchmark TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL,"
    " repetition INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (run_id, driver, benchmark, metric, repetition))",
    "CREATE INDEX IF NOT EXISTS measurements_series ON measurements (benchmark, metric)",
    "CREATE TABLE IF NOT EXISTS stages (run_id TEXT NOT NULL REFERENCES runs(run_id),"
    " stage TEXT NOT NULL, verdict TEXT NOT NULL, reason TEXT NOT NULL,"
    " seconds DOUBLE PRECISION, PRIMARY KEY (run_id, stage))",
    "CREATE TABLE IF NOT EXISTS stage_counts (run_id TEXT NOT NULL REFERENCES runs(run_id),"
    " stage TEXT NOT NULL, name TEXT NOT NULL, value BIGINT NOT NULL,"
    " PRIMARY KEY (run_id, stage, name))",
    "CREATE TABLE IF NOT EXISTS documents (run_id TEXT NOT NULL REFERENCES runs(run_id),"
    " name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (run_id, name))",
)

# table -> its columns, in insert order (merge copies rows table by table,
# parents first).
TABLES = (
    ("machines", ("fingerprint", "summary", "components")),
    ("runs", ("run_id", "fingerprint", "revision", "dirty", "run_time", "profile", "host",
              "source", "ingested")),
    ("measurements", ("run_id", "driver", "benchmark", "metric", "unit", "repetition", "value")),
    ("stages", ("run_id", "stage", "verdict", "reason", "seconds")),
    ("stage_counts", ("run_id", "stage", "name", "value")),
    ("documents", ("run_id", "name", "body")),
)
# The constant statements, one per table (built once from the constant table
# above, never from data).
INSERT = {t: f"INSERT INTO {t} ({', '.join(c)}) VALUES ({', '.join('?' * len(c))})"
             f" ON CONFLICT DO NOTHING" for t, c in TABLES}
SELECT_ALL = {t: f"SELECT {', '.join(c)} FROM {t}" for t, c in TABLES}
COUNT = {t: f"SELECT COUNT(*) FROM {t}" for t, _ in TABLES}


class StoreError(ResultError):
    """A store that cannot be used; str() is one line."""


def is_url(db):
    return db.startswith(("postgresql://", "postgres://"))


class Store:
    """An open store. Use as a context manager; commit() ends a transaction."""

    def __init__(self, db, create=True):
        self.db = db
        self.pg = is_url(db)
        if self.pg:
            try:
                import psycopg2
            except ImportError:
                raise StoreError(f"{_safe(db)}: PostgreSQL needs python3-psycopg2 "
                                 "(scripts/bootstrap history)") from None
            try:
                self.conn = psycopg2.connect(db)
            except psycopg2.Error as e:
                first = (str(e).strip().splitlines() or ["?"])[0]
                raise StoreError(f"{_safe(db)}: cannot connect ({first})") from None
            self.errors = (psycopg2.Error,)
        else:
            self.errors = (sqlite3.Error,)
            if not create and not os.path.isfile(db):
                raise StoreError(f"{db}: no such history store")
            folder = os.path.dirname(os.path.abspath(db))
            if create and not os.path.isdir(folder):
                raise StoreError(f"{db}: folder {folder} does not exist")
            if os.path.isfile(db) and os.path.getsize(db) == 0:
                raise StoreError(f"{db}: empty file (0 bytes), not a history store (a write "
                                 "that failed? remove it)")
            if create and not os.path.exists(db):
                _create_sqlite(db)
            try:
                self.conn = sqlite3.connect(db)
                self.conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.Error as e:
                raise StoreError(f"{db}: cannot open ({e})") from None
        self._init(create)

    def _init(self, create):
        # Two runners creating one PostgreSQL schema at once can collide inside
        # CREATE TABLE IF NOT EXISTS (a unique violation in the catalog): the
        # loser rolls back and finds the tables made on its next attempt.
        for attempt in range(3):
            try:
                if create:
                    for stmt in SCHEMA:
                        self.execute(stmt)
                    self.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                                 " ON CONFLICT DO NOTHING", ("schema", SCHEMA_VERSION))
                    self.conn.commit()
                cur = self.execute("SELECT value FROM meta WHERE key = ?", ("schema",))
                rows = cur.fetchall()
                break
            except Exception as e:
                if self.pg and attempt < 2 and type(e).__name__ in ("UniqueViolation",
                                                                    "IntegrityError"):
                    self.conn.rollback()
                    continue
                self.close()
                raise StoreError(f"{_safe(self.db)}: not a history store ({_first(e)})") from None
        if not rows or rows[0][0] != SCHEMA_VERSION:
            got = rows[0][0] if rows else "none"
            self.close()
            raise StoreError(f"{_safe(self.db)}: schema {got!r}, expected {SCHEMA_VERSION!r}")

    def _sql(self, stmt):
        return stmt.replace("?", "%s") if self.pg else stmt

    def execute(self, stmt, params=()):
        cur = self.conn.cursor()
        cur.execute(self._sql(stmt), params)
        return cur

    def executemany(self, stmt, rows):
        cur = self.conn.cursor()
        cur.executemany(self._sql(stmt), rows)
        return cur

    def query(self, stmt, params=()):
        try:
            cur = self.execute(stmt, params)
            rows = cur.fetchall()
        except self.errors as e:
            raise StoreError(f"{_safe(self.db)}: cannot read ({_first(e)})") from None
        cur.close()
        return rows

    def insert(self, table, rows):
        """Insert rows (tuples in TABLES order) into table; existing keys are kept."""
        if rows:
            try:
                self.executemany(INSERT[table], rows)
            except self.errors as e:
                raise StoreError(f"{_safe(self.db)}: cannot write ({_first(e)})") from None

    def commit(self):
        try:
            self.conn.commit()
        except self.errors as e:
            raise StoreError(f"{_safe(self.db)}: cannot write ({_first(e)})") from None

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None:
            try:
                self.conn.rollback()
            except Exception:
                pass
        self.close()
        return False

    # --- reads ----------------------------------------------------------------
    def has_run(self, run_id):
        return bool(self.query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)))

    def machines(self):
        """{fingerprint: summary}."""
        return dict(self.query("SELECT fingerprint, summary FROM machines ORDER BY fingerprint"))

    def runs(self):
        """[(run_id, fingerprint, revision, dirty, run_time, profile, host, source)] by time."""
        return self.query("SELECT run_id, fingerprint, revision, dirty, run_time, profile, host,"
                          " source FROM runs ORDER BY run_time, run_id")

    def series_names(self, metric):
        """[(fingerprint, benchmark)] that have metric."""
        return self.query("SELECT DISTINCT r.fingerprint, m.benchmark FROM measurements m"
                          " JOIN runs r ON r.run_id = m.run_id WHERE m.metric = ?"
                          " ORDER BY r.fingerprint, m.benchmark", (metric,))

    def series(self, benchmark, metric, fingerprint=None):
        """[(run_id, fingerprint, run_time, revision, unit, value)] of one series, by run
        time and repetition (a row per repetition); fingerprint None: every machine."""
        select = ("SELECT r.run_id, r.fingerprint, r.run_time, r.revision, m.unit, m.value"
                  " FROM measurements m JOIN runs r ON r.run_id = m.run_id"
                  " WHERE m.benchmark = ? AND m.metric = ?")
        order = " ORDER BY r.run_time, r.run_id, m.repetition"
        if fingerprint is None:
            return self.query(select + order, (benchmark, metric))
        return self.query(select + " AND r.fingerprint = ?" + order, (benchmark, metric, fingerprint))

    def count(self, table):
        return self.query(COUNT[table])[0][0]


def _create_sqlite(db):
    """Make the SQLite store db (which does not exist) whole or not at all:
    the schema in a temporary file of its folder, synced, then linked to db
    (another process that made db first wins; its store is used)."""
    try:
        with temp_beside(db, ".new") as (fd, tmp):
            os.close(fd)
            conn = sqlite3.connect(tmp)
            try:
                for stmt in SCHEMA:
                    conn.execute(stmt)
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)",
                             ("schema", SCHEMA_VERSION))
                conn.commit()
            finally:
                conn.close()
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, db)
            except FileExistsError:
                pass
    except (OSError, sqlite3.Error) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else _first(e)
        raise StoreError(f"{db}: cannot create the history store ({why})") from None


def _first(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def _safe(db):
    """A URL without its password, for messages."""
    if is_url(db) and "@" in db:
        scheme, rest = db.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':', 1)[0]}@{host}"
    return db
