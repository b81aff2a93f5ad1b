"""The project store: one folder per film, `project.db` (SQLite, WAL) beside the files.

What it keeps: the cut's reference, the editable cue sheet, every take of every cue (its
parameters, seed, backend, model, parent take, status and the files it wrote, each with
its SHA-256), the selected take per cue, each cue's status (spotted → sketch → approved →
locked) and notes pinned to a cue and a timecode with their author.

Takes are never modified: a take's files are written once under `takes/<cue>/<take>/`
(temp file → fsync → rename) while its row says 'running'; the row turns 'done' with the
files' hashes in one transaction. Opening a project marks takes left 'running' by a
process that is gone as 'failed' and removes their half-written files, so a crash loses
only the take it was writing. One connection per thread; writes are short IMMEDIATE
transactions with a busy timeout, so the CLI, the studio and batch workers can share it.
An older project.db is brought up to date when it is opened (MIGRATIONS, in one
transaction); one from a newer scorer is refused.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from scorer.errors import InputError
from scorer.io.clipstore import pid_alive
from scorer.types import ReviewNote

# project.db's version (the `meta` row schema_version). _SCHEMA below is version 1 and
# stays so: each later version is a migration in MIGRATIONS, which a new project runs too,
# so a project made today and one upgraded from version 1 have the same tables.
SCHEMA_VERSION = 3
STATUSES = ("spotted", "sketch", "approved", "locked")
# A cue moves one step forward, or back one step when someone says so explicitly.
_FORWARD = {"spotted": "sketch", "sketch": "approved", "approved": "locked"}
_BACK = {v: k for k, v in _FORWARD.items()}
CUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS project (
    id INTEGER PRIMARY KEY CHECK (id = 1), cut_path TEXT NOT NULL, cue_sheet TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE IF NOT EXISTS takes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cue_id TEXT NOT NULL, seed INTEGER NOT NULL,
    params TEXT NOT NULL, backend TEXT NOT NULL, model TEXT NOT NULL DEFAULT '',
    parent INTEGER REFERENCES takes(id), status TEXT NOT NULL
        CHECK (status IN ('running', 'done', 'failed')),
    pid INTEGER, files TEXT NOT NULL DEFAULT '{}', error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE INDEX IF NOT EXISTS takes_by_cue ON takes (cue_id, id);
CREATE TABLE IF NOT EXISTS selection (cue_id TEXT PRIMARY KEY, take_id INTEGER NOT NULL REFERENCES takes(id));
CREATE TABLE IF NOT EXISTS cue_status (cue_id TEXT PRIMARY KEY, status TEXT NOT NULL
    CHECK (status IN ('spotted', 'sketch', 'approved', 'locked')));
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cue_id TEXT NOT NULL, t_s REAL NOT NULL,
    timecode TEXT NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
"""

# Version N → the function taking a project.db at N − 1 to N, for N = 2 … SCHEMA_VERSION
# (none yet: version 1 is the baseline). Each runs inside the one transaction that opening
# an older project upgrades it in, so it uses conn.execute statement by statement:
# executescript would commit that transaction half-way.
def _people_and_activity(conn: sqlite3.Connection) -> None:
    """Version 2: the people of a project (name, role, password hash) and a record of who
    did what (takes, choices, statuses, notes, exports)."""
    conn.execute("""CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))""")
    conn.execute("""CREATE TABLE IF NOT EXISTS activity (
        id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, cue_id TEXT, action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))""")


def _threads_and_review(conn: sqlite3.Connection) -> None:
    """Version 3: notes as review threads (a reply names the note it answers; a thread is
    resolved or open; a note may be a request for changes) and what each person last saw
    of the project's activity."""
    conn.execute("ALTER TABLE notes ADD COLUMN reply_to INTEGER REFERENCES notes(id)")
    conn.execute("ALTER TABLE notes ADD COLUMN kind TEXT NOT NULL DEFAULT 'note' CHECK (kind IN ('note', 'changes'))")
    conn.execute("ALTER TABLE notes ADD COLUMN resolved_by TEXT")
    conn.execute("ALTER TABLE notes ADD COLUMN resolved_at TEXT")
    conn.execute("""CREATE TABLE IF NOT EXISTS seen (
        user TEXT PRIMARY KEY, activity_id INTEGER NOT NULL,
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))""")


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {2: _people_and_activity, 3: _threads_and_review}

# Who may do what. A project without people is one person's (the studio on loopback, the
# CLI): everything is allowed. With people, each acts by their role.
ROLES = ("director", "composer", "music editor", "sound designer", "viewer")
MAY = {
    "director": {"note", "take", "select", "approve", "request changes", "step back", "export", "resolve"},
    "composer": {"note", "take", "select", "sketch", "lock", "unlock", "step back", "edit", "export", "resolve"},
    "music editor": {"note", "take", "select", "sketch", "edit", "export", "resolve"},
    "sound designer": {"note", "take", "export"},
    "viewer": set(),
}
ACTION_WORDS = {"note": "leave notes", "take": "make takes", "select": "choose takes", "approve": "approve a cue",
                "sketch": "move a cue to sketch", "lock": "lock a cue", "unlock": "unlock a cue",
                "step back": "step a cue back", "edit": "edit cues", "export": "export the delivery",
                "request changes": "ask for changes to a cue", "resolve": "resolve or reopen someone else's note"}
# A status change is the action of moving into it (or out of it, for unlocking).
STATUS_ACTION = {"sketch": "sketch", "approved": "approve", "locked": "lock"}


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """scrypt (RFC 7914) of the password with a random salt, as 'scrypt$n$r$p$salt$hash'."""
    if len(password) < 8:
        raise InputError("a password needs at least 8 characters")
    salt = salt if salt is not None else os.urandom(16)
    n, r, p = 2 ** 14, 8, 1
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    import hmac

    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


@dataclass(frozen=True)
class Activity:
    id: int
    user: str
    cue_id: str | None
    action: str
    detail: str
    at: str


@dataclass(frozen=True)
class Take:
    id: int
    cue_id: str
    seed: int
    params: dict
    backend: str
    model: str
    parent: int | None
    status: str                  # running | done | failed
    files: dict                  # name → sha256
    error: str
    created_at: str


NOTE_MAX_CHARS = 2000         # a review comment, not a document
NOTE_MAX_AUTHOR = 80


NoteRow = ReviewNote            # a row of the notes table is the value deliveries carry


def check_cue_id(cue_id: str) -> str:
    """A cue id safe to use in file names ("1M2"): refused otherwise, never sanitised."""
    if not isinstance(cue_id, str) or not CUE_ID.match(cue_id):
        raise InputError(f"cue id {cue_id!r} is not a cue id (letters, digits, '-' and '_', like 1M2)")
    return cue_id


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Connections opened inside closing_connections() blocks, per thread (see there).
_tracking = threading.local()


@contextlib.contextmanager
def closing_connections():
    """Close every project connection this thread opens inside the block when it ends.
    For servers (the studio): a request's Project objects may live on in reference
    cycles until the garbage collector runs, holding their database files open."""
    outer = getattr(_tracking, "projects", None)
    _tracking.projects = []
    try:
        yield
    finally:
        for project in _tracking.projects:
            project.close()
        _tracking.projects = outer


class Project:
    """A project folder. Use Project.create(...) or Project.open(...)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.db_path = self.folder / "project.db"
        self._local = threading.local()

    # --- connections ---------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            tracked = getattr(_tracking, "projects", None)
            if tracked is not None:
                tracked.append(self)
        return conn

    def _write(self, sql_fn):
        """Run sql_fn(conn) in one IMMEDIATE transaction."""
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            out = sql_fn(conn)
            conn.execute("COMMIT")
            return out
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- creating and opening ---------------------------------------------------------------

    @classmethod
    def create(cls, folder: str | os.PathLike, *, cut_path: str | os.PathLike, cue_sheet) -> "Project":
        """A new project for `cut_path` with its spotted cue sheet (scorer.types.CueSheet)."""
        p = cls(folder)
        if p.db_path.exists():
            raise InputError("a project already exists here; open it instead", path=str(p.folder))
        p.folder.mkdir(parents=True, exist_ok=True)
        for cue in cue_sheet.cues:
            check_cue_id(cue.id)

        conn = p._db()
        conn.executescript(_SCHEMA)
        p._write(lambda c: (c.execute("INSERT INTO meta VALUES ('schema_version', '1')"),
                            c.execute("INSERT INTO project (id, cut_path, cue_sheet) VALUES (1, ?, ?)",
                                      (str(Path(cut_path).resolve()),
                                       json.dumps(cue_sheet.to_dict(), sort_keys=True))),
                            c.executemany("INSERT INTO cue_status VALUES (?, 'spotted')",
                                          [(cue.id,) for cue in cue_sheet.cues])))
        p._migrate()
        return p

    @classmethod
    def open(cls, folder: str | os.PathLike) -> "Project":
        """An existing project; takes a dead process left running are marked failed and
        their half-written files removed."""
        p = cls(folder)
        if not p.db_path.is_file():
            raise InputError("no project here (project.db is missing)", path=str(p.folder))
        try:
            p._version(p._db())
        except sqlite3.DatabaseError as exc:
            raise InputError(f"project.db cannot be read ({exc})", path=str(p.db_path)) from None
        p._migrate()
        p.recover()
        return p

    def _version(self, conn: sqlite3.Connection) -> int:
        """project.db's schema version; InputError when it is none this scorer reads."""
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = row[0] if row is not None else None
        if not (isinstance(version, str) and version.isascii() and version.isdigit()) or int(version) > SCHEMA_VERSION:
            raise InputError(f"project.db has schema {version}; this scorer reads up to "
                             f"{SCHEMA_VERSION}", path=str(self.db_path))
        return int(version)

    def _migrate(self) -> None:
        """An older project.db brought to SCHEMA_VERSION by MIGRATIONS, in order, in one
        transaction: a migration that fails leaves the file at the version it had."""
        if self._version(self._db()) == SCHEMA_VERSION:
            return

        def run(conn):
            # Read again inside the write lock: another process may have upgraded it since.
            start = self._version(conn)
            for version in range(start + 1, SCHEMA_VERSION + 1):
                if version not in MIGRATIONS:
                    raise RuntimeError(f"project.db version {version} has no migration in MIGRATIONS")
                MIGRATIONS[version](conn)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

        try:
            self._write(run)
        except sqlite3.DatabaseError as exc:
            start = self._version(self._db())
            raise InputError(f"project.db could not be upgraded from schema {start} to {SCHEMA_VERSION} "
                             f"({exc}); it is left at {start}", path=str(self.db_path)) from None

    # --- settings (the project's seed, theme, spec …) ------------------------------------------

    def setting(self, key: str, default: str | None = None) -> str | None:
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (f"setting.{key}",)).fetchone()
        return default if row is None else row[0]

    def set_setting(self, key: str, value: str) -> None:
        self._write(lambda c: c.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                                        "value = excluded.value", (f"setting.{key}", str(value))))

    def next_number(self, key: str, *, at_least: int = 0) -> int:
        """The next number of a project-wide count (the deliveries: "exports"), one more
        than the last one given out (and than at_least), in one transaction: two people
        asking at once get two numbers."""
        def bump(c):
            row = c.execute("SELECT value FROM meta WHERE key = ?", (f"count.{key}",)).fetchone()
            n = max(int(row[0]) if row else 0, at_least) + 1
            c.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      (f"count.{key}", str(n)))
            return n
        return self._write(bump)

    # --- the cut and its cue sheet ------------------------------------------------------------

    @property
    def cut_path(self) -> str:
        return self._db().execute("SELECT cut_path FROM project WHERE id = 1").fetchone()[0]

    def cue_sheet(self):
        from scorer.types import CueSheet
        return CueSheet.from_dict(json.loads(self._db().execute(
            "SELECT cue_sheet FROM project WHERE id = 1").fetchone()[0]))

    def save_cue_sheet(self, cue_sheet) -> None:
        """Replace the editable cue sheet (new cues start as 'spotted')."""
        for cue in cue_sheet.cues:
            check_cue_id(cue.id)
        self._write(lambda c: (
            c.execute("UPDATE project SET cue_sheet = ? WHERE id = 1", (json.dumps(cue_sheet.to_dict(), sort_keys=True),)),
            c.executemany("INSERT OR IGNORE INTO cue_status VALUES (?, 'spotted')", [(cue.id,) for cue in cue_sheet.cues])))

    # --- takes ---------------------------------------------------------------------------------

    def start_take(self, cue_id: str, *, seed: int, params: dict, backend: str, model: str = "",
                   parent: int | None = None) -> int:
        """A new take row, 'running', owned by this process; returns its id."""
        check_cue_id(cue_id)
        return self._write(lambda c: c.execute(
            "INSERT INTO takes (cue_id, seed, params, backend, model, parent, status, pid) "
            "VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
            (cue_id, int(seed), json.dumps(params, sort_keys=True), backend, model, parent, os.getpid())).lastrowid)

    def take_dir(self, take_id: int, cue_id: str) -> Path:
        return self.folder / "takes" / check_cue_id(cue_id) / f"{int(take_id):06d}"

    def finish_take(self, take_id: int, files: dict[str, bytes]) -> Take:
        """Write the take's files once (temp → fsync → rename) and mark it done with their
        hashes, in one transaction. File names are plain names, no folders."""
        from scorer.io.files import atomic_path

        take = self.take(take_id)
        if take.status != "running":
            raise InputError(f"take {take_id} is {take.status}; only a running take can be finished")
        folder = self.take_dir(take_id, take.cue_id)
        folder.mkdir(parents=True, exist_ok=True)
        hashes = {}
        for name, data in sorted(files.items()):
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", name) or ".." in name:
                raise InputError(f"take file name {name!r} is not a plain file name")
            target = folder / name
            if target.exists():
                raise InputError(f"take {take_id} already has {name}; takes are never rewritten")
            with atomic_path(target) as tmp:
                tmp.write_bytes(data)
            hashes[name] = hashlib.sha256(data).hexdigest()
        self._write(lambda c: c.execute("UPDATE takes SET status = 'done', files = ?, pid = NULL WHERE id = ? "
                                        "AND status = 'running'", (json.dumps(hashes, sort_keys=True), take_id)))
        return self.take(take_id)

    def fail_take(self, take_id: int, error: str) -> None:
        self._write(lambda c: c.execute("UPDATE takes SET status = 'failed', error = ?, pid = NULL "
                                        "WHERE id = ? AND status = 'running'", (error[:2000], take_id)))

    def take(self, take_id: int) -> Take:
        row = self._db().execute("SELECT * FROM takes WHERE id = ?", (int(take_id),)).fetchone()
        if row is None:
            raise InputError(f"no take {take_id} in this project")
        return self._take(row)

    def takes(self, cue_id: str | None = None) -> list[Take]:
        if cue_id is None:
            rows = self._db().execute("SELECT * FROM takes ORDER BY id").fetchall()
        else:
            rows = self._db().execute("SELECT * FROM takes WHERE cue_id = ? ORDER BY id",
                                      (check_cue_id(cue_id),)).fetchall()
        return [self._take(r) for r in rows]

    @staticmethod
    def _take(r) -> Take:
        return Take(id=r[0], cue_id=r[1], seed=r[2], params=json.loads(r[3]), backend=r[4], model=r[5],
                    parent=r[6], status=r[7], files=json.loads(r[9]), error=r[10], created_at=r[11])

    # --- selection and status --------------------------------------------------------------

    def select(self, cue_id: str, take_id: int, *, by: str | None = None) -> None:
        self.require(by, "select")
        take = self.take(take_id)
        if take.cue_id != check_cue_id(cue_id):
            raise InputError(f"take {take_id} belongs to cue {take.cue_id}, not {cue_id}")
        if take.status != "done":
            raise InputError(f"take {take_id} is {take.status}; only a finished take can be selected")
        if self.status(cue_id) == "locked":
            raise InputError(f"cue {cue_id} is locked; unlock it before choosing another take")
        # Choosing a take for a cue that had none starts its sketch: spotted → sketch.
        def choose(c):
            c.execute("INSERT INTO selection VALUES (?, ?) ON CONFLICT(cue_id) "
                      "DO UPDATE SET take_id = excluded.take_id", (cue_id, take_id))
            return c.execute("UPDATE cue_status SET status = 'sketch' WHERE cue_id = ? AND status = 'spotted'",
                             (cue_id,)).rowcount
        started = self._write(choose)
        self.log(by, "chose", cue_id, f"take {take_id}")
        if started:
            self.log(by, "moved on to", cue_id, "sketch")

    def selected(self, cue_id: str) -> Take | None:
        row = self._db().execute("SELECT take_id FROM selection WHERE cue_id = ?", (check_cue_id(cue_id),)).fetchone()
        return None if row is None else self.take(row[0])

    def status(self, cue_id: str) -> str:
        row = self._db().execute("SELECT status FROM cue_status WHERE cue_id = ?", (check_cue_id(cue_id),)).fetchone()
        if row is None:
            raise InputError(f"no cue {cue_id} in this project")
        return row[0]

    def set_status(self, cue_id: str, status: str, *, back: bool = False, by: str | None = None) -> None:
        """One step forward (spotted → sketch → approved → locked), or with back=True one
        step back (unlocking is explicit). A cue needs a selected take to be approved.
        by: who asks (their role must allow it: MAY)."""
        if status not in STATUSES:
            raise InputError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        now = self.status(cue_id)
        self.require(by, ("unlock" if now == "locked" else "step back") if back else STATUS_ACTION[status])
        if back:
            if _FORWARD.get(status) != now:
                raise InputError(f"cue {cue_id} is {now}; one step back from {now} is "
                                 f"{_BACK.get(now, 'nowhere')}, not {status}")
        elif _FORWARD.get(now) != status:
            raise InputError(f"cue {cue_id} is {now}; it moves on to {_FORWARD.get(now, 'nothing further')} "
                             f"next, not {status} (Step back — `scorer project status --back` — moves it back)")
        if status in ("approved", "locked") and self.selected(cue_id) is None:
            raise InputError(f"cue {cue_id} has no chosen take yet: select one before it is {status}")
        self._write(lambda c: c.execute("UPDATE cue_status SET status = ? WHERE cue_id = ?", (status, cue_id)))
        self.log(by, "stepped back to" if back else "moved on to", cue_id, status)

    def regenerable(self, cue_ids) -> list[str]:
        """The cues a bulk regenerate may touch: never approved or locked ones."""
        return [c for c in cue_ids if self.status(c) not in ("approved", "locked")]

    # --- people and what they did -------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str) -> None:
        """A person of the project, with a role (ROLES) and a password (kept as its scrypt hash)."""
        name = name.strip()
        if not re.fullmatch(r"[^\W\d][\w .'-]{0,39}", name):
            raise InputError(f"a user's name is letters (and digits, spaces, . ' -), up to 40: got {name!r}")
        if role not in ROLES:
            raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
        hashed = hash_password(password)
        self._write(lambda c: c.execute("INSERT INTO users (name, role, password) VALUES (?, ?, ?) "
                                        "ON CONFLICT(name) DO UPDATE SET role = excluded.role, "
                                        "password = excluded.password", (name, role, hashed)))

    def users(self) -> dict[str, str]:
        """name → role."""
        return dict(self._db().execute("SELECT name, role FROM users ORDER BY name").fetchall())

    def login(self, name: str, password: str) -> bool:
        row = self._db().execute("SELECT password FROM users WHERE name = ?", ((name or "").strip(),)).fetchone()
        return row is not None and password_matches(password or "", row[0])

    def require(self, by: str | None, action: str) -> None:
        """Refuse `action` unless `by`'s role allows it. by None: the project's own owner
        (the CLI, a studio without people), who may do anything."""
        if by is None:
            return
        role = self.users().get(by)
        if role is None:
            raise InputError(f"{by} is not one of this project's people")
        if action not in MAY[role]:
            allowed = sorted(r for r in ROLES if action in MAY[r])
            raise InputError(f"{by} is the {role}: to {ACTION_WORDS[action]} is for the "
                             + (" or the ".join(allowed) if allowed else "nobody"))

    def log(self, by: str | None, action: str, cue_id: str | None = None, detail: str = "") -> None:
        self._write(lambda c: c.execute("INSERT INTO activity (user, cue_id, action, detail) VALUES (?, ?, ?, ?)",
                                        (by or "", cue_id, action, detail[:200])))

    def activity(self, cue_id: str | None = None) -> list[Activity]:
        sql = "SELECT id, user, cue_id, action, detail, at FROM activity"
        rows = (self._db().execute(sql + " ORDER BY id").fetchall() if cue_id is None else
                self._db().execute(sql + " WHERE cue_id = ? ORDER BY id", (cue_id,)).fetchall())
        return [Activity(*r) for r in rows]

    # --- notes ---------------------------------------------------------------------------------

    def add_note(self, cue_id: str | None, timecode: str | None, *, author: str, text: str,
                 by: str | None = None, reply_to: int | None = None, kind: str = "note") -> NoteRow:
        """Pin a note to a frame of the cut and to the cue that holds it (cue_id None: that
        cue; a cue named that does not hold the frame is refused, naming the one that does).
        The timecode is the picture's own (as the cue sheet prints it, from the cut's start
        timecode) or counted from the cut's first frame; it is stored as the picture's.
        The text is kept as plain text, never markup, up to NOTE_MAX_CHARS.
        reply_to: the note this answers — the reply joins that note's thread, at its frame
        and cue (the timecode may be left out), and reopens it if it was resolved.
        kind: "note", or "changes" (a request for changes: request_changes())."""
        from scorer.timebase import frame_to_s, frame_to_smpte, picture_frame, s_to_smpte

        sheet = self.cue_sheet()
        src = sheet.source
        if kind not in ("note", "changes"):
            raise InputError(f"a note is a 'note' or a 'changes' request, not {kind!r}")
        if cue_id is not None and check_cue_id(cue_id) not in {c.id for c in sheet.cues}:
            raise InputError(f"no cue {cue_id} in this project")
        author, text = author.strip(), text.strip()
        if not author or not text:
            raise InputError("a note needs an author and some text")
        if len(text) > NOTE_MAX_CHARS:
            raise InputError(f"a note is at most {NOTE_MAX_CHARS} characters; this one has {len(text)}")
        if len(author) > NOTE_MAX_AUTHOR:
            raise InputError(f"an author's name is at most {NOTE_MAX_AUTHOR} characters")
        if reply_to is not None:
            parent = self.note(reply_to)
            root = parent.reply_to if parent.reply_to is not None else parent.id
            self.require(by, "note")
            note_id = self._write(lambda c: (
                c.execute("UPDATE notes SET resolved_by = NULL, resolved_at = NULL WHERE id = ?", (root,)),
                c.execute("INSERT INTO notes (cue_id, t_s, timecode, author, text, reply_to, kind) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (parent.cue_id, parent.t_s, parent.timecode, author, text, root, kind)).lastrowid)[1])
            self.log(by or author, "replied", parent.cue_id, f"to note {root}: {text[:80]}")
            return self.note(note_id)
        frame = picture_frame(timecode or "", src.fps, start_frame=src.start_frame)
        if not 0 <= frame < src.n_frames:
            raise InputError(f"{(timecode or '').strip()} is not inside the cut, which runs "
                             f"{frame_to_smpte(src.start_frame, src.fps)}–"
                             f"{frame_to_smpte(src.start_frame + src.n_frames - 1, src.fps)}")
        t_s = frame_to_s(frame, src.fps)
        holding = [c for c in sheet.cues if c.start_s <= t_s < c.end_s]
        where = frame_to_smpte(src.start_frame + frame, src.fps)
        if not holding:
            raise InputError(f"no cue plays at {where}; a note is pinned to a cue (cues: " + ", ".join(
                f"{c.id} {s_to_smpte(c.start_s, src.fps, start_frame=src.start_frame)}" for c in sheet.cues) + ")")
        if cue_id is None:
            cue_id = holding[0].id
        elif cue_id not in {c.id for c in holding}:
            raise InputError(f"{where} is not in cue {cue_id}; it is in {holding[0].id}")
        self.require(by, "note")
        note_id = self._write(lambda c: c.execute(
            "INSERT INTO notes (cue_id, t_s, timecode, author, text, kind) VALUES (?, ?, ?, ?, ?, ?)",
            (cue_id, t_s, where, author, text, kind)).lastrowid)
        self.log(by or author, "asked for changes" if kind == "changes" else "noted", cue_id, f"{where}: {text[:80]}")
        return self.note(note_id)

    _NOTE_COLUMNS = "id, cue_id, t_s, timecode, author, text, created_at, reply_to, kind, resolved_by, resolved_at"

    def note(self, note_id: int) -> NoteRow:
        row = self._db().execute(f"SELECT {self._NOTE_COLUMNS} FROM notes WHERE id = ?", (int(note_id),)).fetchone()
        if row is None:
            raise InputError(f"no note {note_id} in this project")
        return NoteRow(*row)

    def notes(self, cue_id: str | None = None, *, author: str | None = None,
              open_only: bool = False) -> list[NoteRow]:
        """Notes in picture order, each thread's first note before its replies (in the
        order they were written). Filters: the cue's, one author's threads (those they
        began or answered), open threads only."""
        sql = f"SELECT {self._NOTE_COLUMNS} FROM notes"
        rows = (self._db().execute(sql).fetchall() if cue_id is None else
                self._db().execute(sql + " WHERE cue_id = ?", (check_cue_id(cue_id),)).fetchall())
        notes = [NoteRow(*r) for r in rows]
        firsts = {n.id: n for n in notes if n.reply_to is None}
        root = lambda n: n.reply_to if n.reply_to is not None else n.id  # noqa: E731
        if open_only:
            notes = [n for n in notes if root(n) in firsts and firsts[root(n)].open]
        if author is not None:
            theirs = {root(n) for n in notes if n.author == author}
            notes = [n for n in notes if root(n) in theirs]
        first_t = lambda n: firsts[root(n)].t_s if root(n) in firsts else n.t_s  # noqa: E731
        return sorted(notes, key=lambda n: (first_t(n), root(n), n.reply_to is not None, n.id))

    def resolve_note(self, note_id: int, *, by: str | None = None, reopen: bool = False) -> NoteRow:
        """Mark a note's thread done (or open again). Its author may; others where their
        role allows (MAY "resolve")."""
        n = self.note(note_id)
        first = self.note(n.reply_to) if n.reply_to is not None else n
        if by is not None and by != first.author:
            self.require(by, "resolve")
        who = by or first.author
        if reopen:
            self._write(lambda c: c.execute("UPDATE notes SET resolved_by = NULL, resolved_at = NULL WHERE id = ?",
                                            (first.id,)))
        else:
            self._write(lambda c: c.execute("UPDATE notes SET resolved_by = ?, "
                                            "resolved_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
                                            (who, first.id)))
        self.log(who, "reopened" if reopen else "resolved", first.cue_id, f"note {first.id}")
        return self.note(first.id)

    def request_changes(self, cue_id: str, text: str, *, by: str | None = None, author: str | None = None,
                        timecode: str | None = None) -> NoteRow:
        """Ask for changes to a cue, with a note saying which (pinned at `timecode`, or at
        the cue's first frame). An approved cue goes back to sketch; a locked one stays
        locked until its composer unlocks it (the note says what is wanted)."""
        from scorer.timebase import s_to_smpte

        self.require(by, "request changes")
        if not (text or "").strip():
            raise InputError("say what should change: a request for changes needs a note")
        sheet = self.cue_sheet()
        cue = next((c for c in sheet.cues if c.id == check_cue_id(cue_id)), None)
        if cue is None:
            raise InputError(f"no cue {cue_id} in this project")
        src = sheet.source
        at = timecode or s_to_smpte(cue.start_s, src.fps, start_frame=src.start_frame)
        note = self.add_note(cue_id, at, author=by or author or "", text=text, by=by, kind="changes")
        if self.status(cue_id) == "approved":
            self._write(lambda c: c.execute("UPDATE cue_status SET status = 'sketch' WHERE cue_id = ?", (cue_id,)))
            self.log(by or author, "stepped back to", cue_id, "sketch (changes asked for)")
        return note

    # --- what each person has seen ------------------------------------------------------------

    def mark_seen(self, user: str) -> None:
        """`user` has seen everything done so far."""
        last = self._db().execute("SELECT COALESCE(MAX(id), 0) FROM activity").fetchone()[0]
        self._write(lambda c: c.execute("INSERT INTO seen (user, activity_id) VALUES (?, ?) ON CONFLICT(user) "
                                        "DO UPDATE SET activity_id = excluded.activity_id, "
                                        "at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", (user, last)))

    def since_seen(self, user: str) -> list[Activity]:
        """What others did since `user` last marked the project seen (everything, if never)."""
        row = self._db().execute("SELECT activity_id FROM seen WHERE user = ?", (user,)).fetchone()
        after = row[0] if row else 0
        rows = self._db().execute("SELECT id, user, cue_id, action, detail, at FROM activity "
                                  "WHERE id > ? AND user != ? ORDER BY id", (after, user)).fetchall()
        return [Activity(*r) for r in rows]

    # --- integrity -----------------------------------------------------------------------------

    def recover(self) -> list[int]:
        """Takes left 'running' by a process that is gone: marked failed, their files removed
        (they were never done, so nothing refers to them). Returns their ids."""
        import shutil

        # A take's state and writer are read together, and it is failed only if it is
        # still running under that writer: a take finished meanwhile (its pid cleared by
        # finish_take) must not be taken for a dead one and lose its files.
        stale = self._db().execute("SELECT id, cue_id, pid FROM takes WHERE status = 'running'").fetchall()
        dead = []
        for take_id, cue_id, pid in stale:
            if pid_alive(pid):
                continue
            failed = self._write(lambda c: c.execute(
                "UPDATE takes SET status = 'failed', error = ?, pid = NULL "
                "WHERE id = ? AND status = 'running' AND pid IS ?",
                ("the process writing it stopped before it finished", take_id, pid)).rowcount)
            if not failed:
                continue
            dead.append(take_id)
            folder = self.take_dir(take_id, cue_id)
            if folder.exists():
                shutil.rmtree(folder)
        # Only dead takes' folders go: a live writer's temp files (another process or
        # thread, same project) are its own business. Likewise the audio a dead
        # process was rendering into.
        from scorer.io.clipstore import remove_stale
        remove_stale(self.folder / "cache")
        return dead

    def verify(self) -> list[str]:
        """Problems found: SQLite's integrity check, and every done take's files against
        their stored hashes. An empty list means the project is sound."""
        problems = [r[0] for r in self._db().execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
        for t in self.takes():
            if t.status != "done":
                continue
            for name, digest in t.files.items():
                path = self.take_dir(t.id, t.cue_id) / name
                if not path.is_file():
                    problems.append(f"take {t.id}: {name} is missing")
                elif _sha256(path) != digest:
                    problems.append(f"take {t.id}: {name} does not match its hash")
        return problems
