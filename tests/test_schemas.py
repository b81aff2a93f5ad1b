"""Versioned files: schema tags and their upgrades (scorer/schemas.py), project.db's
migrations, and the golden files in tests/golden/ that pin what scorer writes.

Each golden was written by scorer itself (tests/golden/README.md says how). A golden test
reads the file the way scorer reads it and writes it back, or writes it afresh from the
code that makes it, and compares: a field renamed or dropped fails here, and a new version
of a format comes with its upgrade and a new golden.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest

from test_compose import cue, hit, sheet

from scorer import project as project_module
from scorer import schemas
from scorer.errors import InputError
from scorer.io.files import read_json, write_json
from scorer.io.takes import TAKE_INFO_SCHEMA, read_take_info, take_info, take_info_bytes
from scorer.project import Project
from scorer.schemas import parse_tag, upgrade
from scorer.types import CUESHEET_SCHEMA, CueSheet, Span, TempoMap, TempoSegment

GOLDEN = Path(__file__).parent / "golden"


def _registered(monkeypatch, name: str, from_version: int, fn) -> None:
    """Register an upgrade for this test only (the registry is restored afterwards)."""
    monkeypatch.setitem(schemas._UPGRADERS, (name, from_version), fn)


# --- the mechanism ------------------------------------------------------------------------------

def test_tags_are_name_dot_version():
    assert parse_tag("CueSheet.1") == ("CueSheet", 1)
    assert parse_tag("Take.0") == ("Take", 0)
    assert schemas.tag("Report", 1) == "Report.1"
    for bad in ("CueSheet", "CueSheet.01", "CueSheet.1.2", "Cue Sheet.1", ".1", "1", 1, None):
        with pytest.raises(InputError, match="is not a schema tag"):
            parse_tag(bad, where="cue sheet")


def test_upgrades_run_in_order_once_each_and_leave_the_document_alone(monkeypatch):
    calls = []

    def zero_to_one(d):
        calls.append(0)
        d["span"] = {"start_s": d.pop("in_s"), "end_s": d.pop("out_s")}
        return d

    def one_to_two(d):
        calls.append(1)
        d["span"]["length_s"] = d["span"]["end_s"] - d["span"]["start_s"]
        return d

    _registered(monkeypatch, "Probe", 0, zero_to_one)
    _registered(monkeypatch, "Probe", 1, one_to_two)
    old = {"schema": "Probe.0", "in_s": 1.0, "out_s": 3.5}
    new = upgrade(old, "Probe", 2, where="probe")
    assert new == {"schema": "Probe.2", "span": {"start_s": 1.0, "end_s": 3.5, "length_s": 2.5}}
    assert calls == [0, 1]
    assert old == {"schema": "Probe.0", "in_s": 1.0, "out_s": 3.5}      # read, never rewritten
    assert upgrade(new, "Probe", 2, where="probe") is new               # current: as it is
    assert calls == [0, 1]
    # From the middle of the chain only the later upgrade runs.
    assert upgrade({"schema": "Probe.1", "span": {"start_s": 0.0, "end_s": 1.0}}, "Probe", 2,
                   where="probe")["span"]["length_s"] == 1.0
    assert calls == [0, 1, 1]


def test_what_cannot_be_read_is_refused_with_the_reason(monkeypatch):
    _registered(monkeypatch, "Probe", 1, lambda d: d)
    cases = [
        ({"schema": "Probe.3"}, "newer than this scorer reads \\(up to 'Probe.2'\\)"),
        ({"schema": "Other.1"}, "not a Probe"),
        ({"schema": "Probe.0"}, "no upgrade from 'Probe.0'"),
        ({"schema": "Probe"}, "is not a schema tag"),
        ({"in_s": 1.0}, "missing field 'schema'"),
        ([], "must be an object"),
    ]
    for d, needle in cases:
        with pytest.raises(InputError, match=needle) as e:
            upgrade(d, "Probe", 2, where="probe", path="/films/probe.json")
        assert str(e.value).startswith("/films/probe.json: probe")
    # Files written before their format had a tag: `untagged` says which version they are.
    _registered(monkeypatch, "Probe", 0, lambda d: d)
    assert upgrade({"in_s": 1.0}, "Probe", 2, where="probe", untagged=0) == {"in_s": 1.0, "schema": "Probe.2"}


def test_two_upgrades_from_one_version_are_a_programming_error(monkeypatch):
    monkeypatch.setattr(schemas, "_UPGRADERS", {})
    schemas.upgrader("Probe", 0)(lambda d: d)
    with pytest.raises(ValueError, match="Probe.0 already has an upgrade"):
        schemas.upgrader("Probe", 0)(lambda d: d)


# --- cues.json ------------------------------------------------------------------------------------

def test_cues_json_golden_reads_and_writes_back_exactly(tmp_path):
    golden = GOLDEN / "cues.json"
    sheet_ = CueSheet.from_dict(read_json(golden))
    assert sheet_.schema == CUESHEET_SCHEMA == "CueSheet.1"
    assert sheet_.shots and sheet_.transitions and sheet_.dialogue and sheet_.cues[0].hits
    write_json(tmp_path / "cues.json", sheet_.to_dict())            # as `scorer analyze` writes it
    assert (tmp_path / "cues.json").read_text(encoding="utf-8") == golden.read_text(encoding="utf-8")


def test_an_older_cue_sheet_reads_through_its_upgrade(monkeypatch):
    """No cue sheet before CueSheet.1 was ever written; a made-up version 0 (cue bounds as
    "in_s"/"out_s") shows the path an older one would take."""
    current = read_json(GOLDEN / "cues.json")
    old = json.loads(json.dumps(current))
    old["schema"] = "CueSheet.0"
    for c in old["cues"]:
        c["in_s"], c["out_s"] = c.pop("start_s"), c.pop("end_s")
    with pytest.raises(InputError, match="has schema 'CueSheet.0'; this scorer reads 'CueSheet.1' and has no upgrade"):
        CueSheet.from_dict(old)

    def from_0(d):
        for c in d["cues"]:
            c["start_s"], c["end_s"] = c.pop("in_s"), c.pop("out_s")
        return d

    _registered(monkeypatch, "CueSheet", 0, from_0)
    assert CueSheet.from_dict(old) == CueSheet.from_dict(current)
    assert "in_s" in old["cues"][0]                                  # the caller's dict as it was
    with pytest.raises(InputError, match="newer than this scorer reads"):
        CueSheet.from_dict({**current, "schema": "CueSheet.2"})


# --- tempo maps -----------------------------------------------------------------------------------

def test_composed_tempo_maps_round_trip_through_their_dict():
    from scorer.compose import compose

    cues = [cue(1.0, 20.0, [hit(5.0, 0.9), hit(9.7, 0.8), hit(14.1, 0.9)], cid="1M1"),
            cue(25.0, 40.0, [hit(31.3, 0.95), hit(33.0, 0.4, scored=False)], cid="1M2", preset="warmth"),
            cue(45.0, 52.0, cid="1M3")]
    maps = [cs.tempo_map for cs in compose(sheet(cues), seed=3).cues]
    assert any(len(m.segments) > 1 for m in maps)                    # not only constant tempi
    for m in maps:
        assert TempoMap.from_dict(m.to_dict()) == m
        assert TempoMap.from_dict(json.loads(json.dumps(m.to_dict()))) == m


@pytest.mark.parametrize("change, needle", [
    (lambda d: d.update(beats_per_bar=0), "beats_per_bar must be a whole number"),
    (lambda d: d.update(beats_per_bar=3.5), "beats_per_bar must be a whole number"),
    (lambda d: d.update(segments=[]), "segments must be a non-empty list"),
    (lambda d: d["segments"][0].pop("tempo_bpm"), "segments\\[0\\] is missing field 'tempo_bpm'"),
    (lambda d: d["segments"][1].update(tempo_bpm=0), "tempo_bpm must be above 0"),
    (lambda d: d["segments"][1].update(start_s=0.5), "must ascend"),
])
def test_a_bad_tempo_map_names_the_field(change, needle):
    d = TempoMap((TempoSegment(1.0, 0.0, 90.0), TempoSegment(3.0, 3.0, 100.0)), 3).to_dict()
    change(d)
    with pytest.raises(InputError, match=needle):
        TempoMap.from_dict(d)


# --- take.json ------------------------------------------------------------------------------------

def test_take_json_golden_reads_and_writes_back_exactly():
    golden = GOLDEN / "take.json"
    info = read_take_info(golden)
    assert info["schema"] == TAKE_INFO_SCHEMA == "Take.1"
    assert take_info_bytes(info) == golden.read_bytes()
    assert TempoMap.from_dict(info["tempo_map"]).to_dict() == info["tempo_map"]


def test_an_untagged_take_json_reads_as_take_1_and_stays_as_it_was():
    """Every project made before the tag holds untagged take.json files (their hashes are in
    project.db): they read as Take.1 with the same fields, and are not rewritten."""
    legacy = GOLDEN / "take-untagged.json"
    before = legacy.read_bytes()
    info = read_take_info(legacy)
    assert info["schema"] == "Take.1"
    assert {k: v for k, v in info.items() if k != "schema"} == json.loads(before)
    assert info == read_take_info(GOLDEN / "take.json")      # the same take, written before and after the tag
    assert legacy.read_bytes() == before


def test_take_json_as_written_has_the_golden_fields():
    """take_info writes what the studio stores: the golden's fields, no more and no fewer
    (the values are the composer's business; the golden was made from this cue)."""
    from scorer.compose import compose

    golden = read_take_info(GOLDEN / "take.json")
    cs = compose(sheet([cue(1.0, 5.0, [hit(3.0, 0.9)], cid="1M1")], duration_s=8.0), seed=7).cues[0]
    info = take_info(cs, params=golden["params"], backend="soundfont", groups=golden["groups"],
                     level_lufs=golden["level_lufs"])
    assert _shape(json.loads(take_info_bytes(info))) == _shape(golden)


@pytest.mark.parametrize("text, needle", [
    ('{"schema": "Take.2"}', "newer than this scorer reads"),
    ('{"schema": "NeuralTake.1"}', "not a Take"),
    ("{", "not valid JSON"),
])
def test_a_take_json_scorer_cannot_read_is_refused_naming_the_file(tmp_path, text, needle):
    path = tmp_path / "take.json"
    path.write_text(text)
    with pytest.raises(InputError, match=needle) as e:
        read_take_info(path)
    assert str(path) in str(e.value)


def test_a_take_json_without_a_field_is_refused_naming_the_field(tmp_path):
    d = json.loads((GOLDEN / "take.json").read_text())
    del d["tempo_map"]
    path = tmp_path / "take.json"
    path.write_text(json.dumps(d))
    with pytest.raises(InputError, match="missing tempo_map") as e:
        read_take_info(path)
    assert str(path) in str(e.value)


# --- project.db -----------------------------------------------------------------------------------

def _schema_sql(db_path: Path) -> str:
    """project.db's tables and indexes as SQL (what `sqlite3 .schema` prints, in name order,
    without SQLite's own tables), under a line with its schema_version."""
    with contextlib.closing(sqlite3.connect(db_path)) as c:
        version = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        rows = c.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
                         "ORDER BY type DESC, name").fetchall()
    return f"-- project.db schema_version {version}\n" + "".join(f"{sql};\n" for (sql,) in rows)


def _version(db_path: Path) -> str:
    with contextlib.closing(sqlite3.connect(db_path)) as c:
        return c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]


def _columns(db_path: Path, table: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(db_path)) as c:
        return [r[1] for r in c.execute(f"PRAGMA table_info({table})")]


def _small_sheet() -> CueSheet:
    return sheet([cue(1.0, 20.0, [hit(5.0, 0.9)], cid="1M1"), cue(25.0, 40.0, cid="1M2")])


def test_project_db_schema_is_the_golden(tmp_path):
    p = Project.create(tmp_path / "film", cut_path=tmp_path / "cut.mp4", cue_sheet=_small_sheet())
    p.close()
    golden = GOLDEN / f"project.db.{project_module.SCHEMA_VERSION}.sql"
    assert _schema_sql(p.db_path) == golden.read_text(encoding="utf-8")


def test_a_version_1_project_opens(tmp_path):
    """A project.db made by scorer's version-1 schema (the golden's SQL, rows as a version-1
    scorer writes them) opens, reads, and has the current schema afterwards."""
    folder = tmp_path / "film"
    folder.mkdir()
    with contextlib.closing(sqlite3.connect(folder / "project.db")) as c:
        c.executescript((GOLDEN / "project.db.1.sql").read_text(encoding="utf-8"))
        c.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        c.execute("INSERT INTO project (id, cut_path, cue_sheet) VALUES (1, ?, ?)",
                  (str(tmp_path / "cut.mp4"), (GOLDEN / "cues.json").read_text(encoding="utf-8")))
        c.execute("INSERT INTO cue_status VALUES ('1M1', 'spotted')")
        c.commit()
    p = Project.open(folder)
    assert p.cue_sheet() == CueSheet.from_dict(read_json(GOLDEN / "cues.json"))
    take = p.start_take("1M1", seed=1, params={}, backend="soundfont")
    assert p.finish_take(take, {"take.mid": b"MIDI"}).status == "done"
    p.close()
    current = GOLDEN / f"project.db.{project_module.SCHEMA_VERSION}.sql"
    assert _schema_sql(folder / "project.db") == current.read_text(encoding="utf-8")


def _version_4_and_5(calls: list):
    """Made-up migrations to versions 4 and 5 (after the real ones): a column, then filling it."""
    def to_4(conn):
        calls.append(4)
        conn.execute("ALTER TABLE takes ADD COLUMN rating INTEGER")

    def to_5(conn):
        calls.append(5)
        conn.execute("UPDATE takes SET rating = 0 WHERE rating IS NULL")
    return {**project_module.MIGRATIONS, 4: to_4, 5: to_5}


def test_an_older_project_is_migrated_once_in_order(tmp_path, monkeypatch):
    p = Project.create(tmp_path / "film", cut_path=tmp_path / "cut.mp4", cue_sheet=_small_sheet())
    p.finish_take(p.start_take("1M1", seed=1, params={}, backend="soundfont"), {"take.mid": b"MIDI"})
    p.close()
    assert _version(p.db_path) == str(project_module.SCHEMA_VERSION) == "3"
    calls = []
    monkeypatch.setattr(project_module, "SCHEMA_VERSION", 5)
    monkeypatch.setattr(project_module, "MIGRATIONS", _version_4_and_5(calls))
    q = Project.open(p.folder)
    assert calls == [4, 5] and _version(p.db_path) == "5"
    with contextlib.closing(sqlite3.connect(p.db_path)) as c:
        assert c.execute("SELECT rating FROM takes").fetchall() == [(0,)]
    assert [t.status for t in q.takes()] == ["done"] and q.cue_sheet() == p.cue_sheet()
    q.close()
    Project.open(p.folder).close()
    assert calls == [4, 5]                                       # once: the project is at 5 now
    # A new project is the baseline and the same migrations: the same tables as an upgraded one.
    fresh = Project.create(tmp_path / "new", cut_path=tmp_path / "cut.mp4", cue_sheet=_small_sheet())
    fresh.close()
    assert calls == [4, 5, 4, 5]
    assert _schema_sql(fresh.db_path) == _schema_sql(p.db_path)


def test_a_failing_migration_leaves_the_project_at_its_version(tmp_path, monkeypatch):
    p = Project.create(tmp_path / "film", cut_path=tmp_path / "cut.mp4", cue_sheet=_small_sheet())
    p.close()
    before = _schema_sql(p.db_path)

    def to_5_fails(conn):
        conn.execute("UPDATE takes SET rating = 1")
        raise RuntimeError("the migration's own bug")

    calls = []
    migrations = _version_4_and_5(calls)
    monkeypatch.setattr(project_module, "SCHEMA_VERSION", 5)
    monkeypatch.setattr(project_module, "MIGRATIONS", {**migrations, 5: to_5_fails})
    with pytest.raises(RuntimeError, match="the migration's own bug"):
        Project.open(p.folder)
    assert calls == [4]
    assert _version(p.db_path) == "3" and "rating" not in _columns(p.db_path, "takes")
    assert _schema_sql(p.db_path) == before
    # SQL the database refuses: said as the project's problem, still at its version.
    monkeypatch.setattr(project_module, "MIGRATIONS",
                        {**migrations, 4: lambda conn: conn.execute("ALTER TABLE no_such_table ADD COLUMN x")})
    with pytest.raises(InputError, match="could not be upgraded from schema 3 to 5 .*no such table.*left at 3"):
        Project.open(p.folder)
    assert _version(p.db_path) == "3"
    monkeypatch.undo()
    Project.open(p.folder).close()                               # this scorer still reads it


@pytest.mark.parametrize("stored", ["4", "x", None])
def test_a_project_this_scorer_cannot_read_is_refused(tmp_path, stored):
    """A newer scorer's project.db (or one with no version a scorer wrote)."""
    p = Project.create(tmp_path / "film", cut_path=tmp_path / "cut.mp4", cue_sheet=_small_sheet())
    p.close()
    with contextlib.closing(sqlite3.connect(p.db_path)) as c:
        if stored is None:
            c.execute("DELETE FROM meta WHERE key = 'schema_version'")
        else:
            c.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (stored,))
        c.commit()
    with pytest.raises(InputError, match=f"project.db has schema {stored}; this scorer reads up to 3") as e:
        Project.open(p.folder)
    assert str(p.db_path) in str(e.value)


# --- report.json ----------------------------------------------------------------------------------

# The report's objects whose keys are names from the film (cue ids, groups, layers, motifs,
# stages, backends), not fields: the golden pins their values' shape, not their keys.
REPORT_MAPS = ("render.backends", "render.backend_by_cue", "motifs", "cues[].idioms", "files.stems",
               "files.cue_stems", "files.cue_stems.*", "timings_s")
# What a backend says about its own render is the backend's, not the report's.
REPORT_OPAQUE = ("render.backends.*",)


def _shape(value, path: str = "", maps=(), opaque=()):
    """A JSON value's structure: an object's keys (a map's as "*", with its first entry's
    shape), a list's first element's, and "" for any other value."""
    if path in opaque:
        return ""
    if isinstance(value, dict):
        if path in maps:
            return {"*": _shape(value[min(value)], f"{path}.*", maps, opaque)} if value else {}
        return {k: _shape(v, f"{path}.{k}" if path else k, maps, opaque) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0], f"{path}[]", maps, opaque)] if value else []
    return ""


def _delivered_report(out: Path) -> dict:
    """report.json of a delivery of one short cue under a line of dialogue, per-cue stems
    and a click (no picture, so no preview)."""
    from scorer.compose import compose
    from scorer.deliver import deliver
    from scorer.mix import mix
    from scorer.render.plan import render_plan

    cs = sheet([cue(1.0, 5.0, [hit(3.0, 0.9)], cid="1M1")], dialogue=(Span(2.0, 3.5),), duration_s=8.0)
    score = compose(cs, seed=7)
    deliver(score, mix(render_plan(score), cs), cs, out, preview=False, per_cue_stems=True, click=True)
    return read_json(out / "report.json")


def test_report_json_has_the_golden_keys(tmp_path):
    from scorer.deliver import REPORT, REPORT_VERSION

    report = _delivered_report(tmp_path / "out")
    assert upgrade(report, REPORT, REPORT_VERSION, where="report.json")["schema"] == "Report.1"
    golden = json.loads((GOLDEN / "report-keys.json").read_text(encoding="utf-8"))
    assert _shape(report, maps=REPORT_MAPS, opaque=REPORT_OPAQUE) == golden
