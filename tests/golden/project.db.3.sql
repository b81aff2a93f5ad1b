-- project.db schema_version 3
CREATE TABLE activity (
        id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, cue_id TEXT, action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE cue_status (cue_id TEXT PRIMARY KEY, status TEXT NOT NULL
    CHECK (status IN ('spotted', 'sketch', 'approved', 'locked')));
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cue_id TEXT NOT NULL, t_s REAL NOT NULL,
    timecode TEXT NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), reply_to INTEGER REFERENCES notes(id), kind TEXT NOT NULL DEFAULT 'note' CHECK (kind IN ('note', 'changes')), resolved_by TEXT, resolved_at TEXT);
CREATE TABLE project (
    id INTEGER PRIMARY KEY CHECK (id = 1), cut_path TEXT NOT NULL, cue_sheet TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE seen (
        user TEXT PRIMARY KEY, activity_id INTEGER NOT NULL,
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE selection (cue_id TEXT PRIMARY KEY, take_id INTEGER NOT NULL REFERENCES takes(id));
CREATE TABLE takes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cue_id TEXT NOT NULL, seed INTEGER NOT NULL,
    params TEXT NOT NULL, backend TEXT NOT NULL, model TEXT NOT NULL DEFAULT '',
    parent INTEGER REFERENCES takes(id), status TEXT NOT NULL
        CHECK (status IN ('running', 'done', 'failed')),
    pid INTEGER, files TEXT NOT NULL DEFAULT '{}', error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE INDEX takes_by_cue ON takes (cue_id, id);
