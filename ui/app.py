"""The studio: a Gradio app where the director and the composer spot, regenerate, refine
and approve cues together.

This module holds the layout and thin handlers; the work is done by the public API
(scorer.studio, scorer.project). Nothing mutable lives at module level: which project a
browser has open is that browser's gr.State, and everything else is in the project's
folder (project.db and the takes), so two people on two projects never see each other's
work and a reload finds every take that finished meanwhile.

Heavy work (analysis, takes, export) runs on Gradio's queue under a shared concurrency
limit (HEAVY_LIMIT; neural backends have their own, NEURAL_LIMIT) with progress and
queue position; light actions (selecting, notes, status) are never queued behind it.
"""
from __future__ import annotations

import atexit
import functools
import inspect
import concurrent.futures
import gc
import concurrent.futures.process
import multiprocessing
import os
import re
import hashlib
import shutil
import tempfile
import threading
from pathlib import Path

from scorer.errors import InputError, ScorerError
from ui.review import PLAYER_CSS, PLAYER_JS, PLAYER_TEMPLATE, file_url, review_config

HEAVY_LIMIT = 2              # analyses, takes and exports at once (2 cores)
NEURAL_LIMIT = 1             # neural takes at once (one model in memory)
MAX_UPLOAD = "4gb"
SERVE_KEEP = 16              # files handed out (takes, previews, zips) kept for the browser
WORKER_NICE = 10      # how much lower the take-making processes' priority is than the server's
LIVE_S = 1.0          # how often an open page asks whether others did something (notes, statuses, takes)
PROJECT_NAME = re.compile(r"^[^\W_][\w -]{0,63}$")        # letters of any script, digits, space, - and _
STATUS_STEPS = ("sketch", "approved", "locked")
NOTE_MAX_CHARS = 2000        # as scorer.project keeps them (checked there too)
STATUS_HELP = ("**Statuses** — *spotted*: placed, no music chosen yet · *sketch*: takes being tried (choosing a "
               "take starts it) · *approved*: the director's yes; Regenerate all leaves it alone · *locked*: the "
               "composer's; no new takes or edits until unlocked. **Request changes** sends an approved cue back to "
               "sketch with your note.")


def project_folder(projects_dir: str | os.PathLike, name: str) -> Path:
    """The folder of project `name` inside projects_dir: a plain name, never a path."""
    name = (name or "").strip()
    if not PROJECT_NAME.match(name):
        raise InputError(f"project name {name!r}: use letters (any script), digits, spaces, '-' and '_' "
                         f"(up to 64)")
    root = Path(projects_dir).resolve()
    folder = (root / name).resolve()
    if folder.parent != root:
        raise InputError(f"project name {name!r} is not a plain name")
    return folder


def existing_projects(projects_dir: str | os.PathLike) -> list[str]:
    """The names of the projects in projects_dir (folders holding a project.db)."""
    root = Path(projects_dir)
    return sorted(d.name for d in root.iterdir() if (d / "project.db").is_file()) if root.is_dir() else []


def _upload_name(path: str, fallback: str) -> str:
    """An uploaded file's name, kept only if it is a plain, safe name."""
    name = Path(path).name
    return name if re.match(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,120}$", name) and ".." not in name \
        else fallback + Path(path).suffix.lower()[:8]


def _open(folder: str):
    from scorer.project import Project

    if not folder:
        raise InputError("open or create a project first")
    return Project.open(folder)


@functools.cache
def _libc_function(name: str):
    """A function of the C library (glibc's malloc_trim, mallopt), or None where it has
    none (musl, macOS)."""
    import ctypes
    import ctypes.util

    found = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(found), name, None) if found else None


def _malloc_trim():
    return _libc_function("malloc_trim")


# Arrays at least this big (bytes) are given their own mapping by glibc and returned to the
# system the moment they are freed. glibc's default threshold adapts upwards (to 32 MB) as
# big blocks are freed, after which a render's, mix's or export's working arrays come from
# the thread arenas and stay resident between jobs; a fixed threshold stops that creep.
MMAP_THRESHOLD_BYTES = 1 << 20


# glibc gives threads up to 8 × cores arenas of their own; the studio's request threads
# come and go (Gradio's worker pool, each job's helpers), and blocks still live in an
# arena keep its pages resident. Measured on the soak of tests/reliability/test_load.py
# (5 create → take → export cycles after 20 concurrent regenerations): with glibc's
# default the server's resident size stepped up once by ~290 MB in 2 of 3 runs (CI and
# here), with two arenas it stayed level in 3 of 3. The work itself is numpy's, which
# holds no allocator lock while it computes.
ARENA_MAX = 2


def hold_mmap_threshold() -> None:
    """Fix glibc's mmap threshold at MMAP_THRESHOLD_BYTES and its arena count at ARENA_MAX
    for this (long-lived) process; nothing where the C library is not glibc."""
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        mallopt(M_ARENA_MAX, ARENA_MAX)


def release_freed_memory() -> None:
    """Hand memory freed by a finished job back to the system. A mix or an export frees
    hundreds of MB of arrays, but glibc keeps freed blocks below its (adaptive, up to
    32 MB) mmap threshold in the arena of the thread that used them; the studio's worker
    threads take turns, so without this a long session's resident size creeps up by
    about one job's working set per thread although nothing is held. The collector runs
    first: a request's frames sit in reference cycles (Gradio's, an exception's
    traceback) that keep a job's arrays alive until a full collection, which a
    mostly-idle server may not run for many jobs (measured: +45 MB resident per
    create → take → export cycle for the first cycles without it, flat with it)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _closing(fn, *, release: bool = False):
    """The handler, closing the project connections it opened when it (or, for a
    generator, each of its steps) ends: Gradio keeps a request's frames alive in reference
    cycles, which would hold the database files open until the garbage collector ran.
    With `release` (the heavy handlers: analysis, mixes, exports), memory the handler
    freed goes back to the system when it ends; light handlers free too little to be
    worth the trim."""
    from scorer.project import closing_connections

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def steps(*args, **kwargs):
            it = fn(*args, **kwargs)
            try:
                while True:
                    with closing_connections():
                        try:
                            item = next(it)
                        except StopIteration:
                            return
                    yield item
            finally:
                if release:
                    release_freed_memory()
        return steps

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            with closing_connections():
                return fn(*args, **kwargs)
        finally:
            if release:
                release_freed_memory()
    return call


def _heavy(fn):
    """_closing for a heavy handler."""
    return _closing(fn, release=True)


NEURAL_HELP = "README, section “Neural takes (MusicGen, AudioGen)”"


def _gr_error(exc: Exception):
    """The one message a failure shows (on the message line and as a note that closes):
    a missing model or device said in a sentence first, pointing to where the README
    tells how to install it, the details after."""
    import gradio as gr

    from scorer.errors import BackendUnavailable

    if isinstance(exc, BackendUnavailable):
        return gr.Error(f"This machine is not set up for that kind of take yet (its model or device is missing): "
                        f"see the {NEURAL_HELP}. The soundfont takes work as before. Details: {exc}")
    return gr.Error(str(exc))


def _progress_fn(progress):
    def cb(stage: str, done: float, total: float) -> None:
        progress((done, total) if total else None, desc=stage)
    return cb


# --- views -----------------------------------------------------------------------------------

class Batch:
    """Takes asked for in one go (Regenerate N, Regenerate all), made one after another by
    a thread of the studio's own: a page that reloads or closes does not stop them, Cancel
    does (before the next take; a take being made is finished). jobs: the cue of each take."""

    def __init__(self, folder: str, jobs: list[str], *, by: str | None, bulk: bool, make):
        self.folder, self.jobs, self.by, self.bulk = folder, list(jobs), by, bulk
        self.made = 0
        self.error: str | None = None
        self.cancelled = threading.Event()
        self.finished = threading.Event()
        self._make = make
        self.thread = threading.Thread(target=self._run, name="scorer-takes", daemon=True)

    def _run(self) -> None:
        try:
            for cue_id in self.jobs:
                if self.cancelled.is_set():
                    break
                self._make(self.folder, [cue_id], takes=1, bulk=self.bulk, by=self.by)
                self.made += 1
        except ScorerError as exc:
            self.error = str(exc)
        except Exception as exc:          # shown on the page; the thread must not die silently
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished.set()

    def line(self) -> str:
        who = f" ({self.by})" if self.by else ""
        cues = sorted(set(self.jobs))
        what = cues[0] if len(cues) == 1 else f"{len(cues)} cues"
        if self.error:
            return f"Takes for {what}{who} stopped after {self.made}: {self.error}"
        if self.finished.is_set():
            return f"{self.made} of {len(self.jobs)} take(s) for {what}{who} made" + (
                " (cancelled)" if self.cancelled.is_set() and self.made < len(self.jobs) else ".")
        return f"Making takes for {what}{who}: {self.made} of {len(self.jobs)} done …"


def mean_intensity(cue) -> float:
    return sum(v for _, v in cue.intensity) / len(cue.intensity) if cue.intensity else 0.5


def cue_rows(p) -> list[list]:
    from scorer.timebase import s_to_smpte

    sheet = p.cue_sheet()
    src = sheet.source
    rows = []
    for c in sheet.cues:
        sel = p.selected(c.id)
        # The picture's own timecode, as the cue sheet and the Edit cue fields show it.
        rows.append([c.id, s_to_smpte(c.start_s, src.fps, start_frame=src.start_frame),
                     s_to_smpte(c.end_s, src.fps, start_frame=src.start_frame),
                     round(c.duration_s, 2), c.preset, round(mean_intensity(c), 2),
                     f"{sum(h.scored for h in c.hits)}/{len(c.hits)}", p.status(c.id),
                     "" if sel is None else f"take {sel.id}", len([t for t in p.takes(c.id) if t.status == "done"])])
    return rows


CUE_HEADERS = ["cue", "in", "out", "dur s", "preset", "intensity", "hits", "status", "selected", "takes"]


def take_choices(p, cue_id: str | None) -> list[tuple[str, int]]:
    if not cue_id:
        return []
    sel = p.selected(cue_id)
    out = []
    for t in reversed(p.takes(cue_id)):
        if t.status != "done":
            continue
        changed = ", ".join(f"{k} {v}" for k, v in sorted(t.params.items()) if v is not None and k != "seed")
        star = "★ " if sel is not None and sel.id == t.id else ""
        out.append((f"{star}take {t.id} · seed {t.params['seed']}{' · ' + changed if changed else ''}", t.id))
    return out


# Every ASCII punctuation sign, each escaped with a backslash: CommonMark shows an escaped
# sign as itself, so no tag, entity, link, image or emphasis typed into a note is rendered.
_MARKDOWN_SIGNS = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def plain(text: str) -> str:
    """What people typed, shown as the text it is inside Markdown (a note with <img src=…>
    shows those characters and fetches nothing)."""
    return _MARKDOWN_SIGNS.sub(r"\\\1", text).replace("\n", "  \n")


def notes_markdown(p, cue_id: str | None = None, *, author: str | None = None, open_only: bool = False) -> str:
    """The notes as threads in picture order: each first note (its number, timecode, cue,
    author, whether it asks for changes, open or resolved) with its replies under it."""
    notes = p.notes(cue_id, author=author, open_only=open_only)
    if not notes:
        return "_No notes yet._" if not (cue_id or author or open_only) else "_No notes match._"
    lines = []
    for n in notes:
        if n.reply_to is None:
            state = "open" if n.open else f"resolved by {plain(n.resolved_by)}"
            kind = " · **changes asked for**" if n.kind == "changes" else ""
            lines.append(f"- **#{n.id}** **{n.timecode}** {n.cue_id} — *{plain(n.author)}*{kind} · {state}: "
                         f"{plain(n.text)}")
        else:
            lines.append(f"    - *{plain(n.author)}*: {plain(n.text)}")
    return "\n".join(lines)


def thread_choices(p) -> list[tuple[str, int]]:
    """Every thread, open ones first, as (label, first note's id)."""
    firsts = [n for n in p.notes() if n.reply_to is None]
    firsts.sort(key=lambda n: (not n.open, n.t_s, n.id))
    return [(f"#{n.id} {n.timecode} {n.cue_id} {n.author}: {n.text[:50]}{'' if n.open else ' (resolved)'}", n.id)
            for n in firsts]


def since_markdown(p, user: str | None) -> str:
    if not user:
        return "_On a project with people, this lists what the others did since you last looked._"
    acts = p.since_seen(user)
    if not acts:
        return "_Nothing new since you last looked._"
    return "\n".join(f"- {a.at[:10]} {a.at[11:16]} UTC · *{plain(a.user or 'owner')}* {plain(a.action)}"
                     f"{' ' + a.cue_id if a.cue_id else ''} {plain(a.detail)}" for a in acts[-50:])


def cue_detail(p, cue_id: str | None) -> str:
    if not cue_id:
        return ""
    from scorer.timebase import s_to_smpte

    sheet = p.cue_sheet()
    c = next((c for c in sheet.cues if c.id == cue_id), None)
    if c is None:
        return ""
    hits = ", ".join(f"{s_to_smpte(h.t_s, sheet.source.fps)} {h.kind}{' ✓' if h.scored else ''}" for h in c.hits)
    sel = p.selected(cue_id)
    recent = p.activity(cue_id)[-4:]          # who did what to this cue, newest first
    tempo = ""
    if sel is not None:
        from scorer.io.takes import read_take_info
        info = read_take_info(p.take_dir(sel.id, cue_id) / "take.json")
        bpms = sorted({round(s["tempo_bpm"], 1) for s in info["tempo_map"]["segments"]})
        tempo = (f" · {info['key']} · {bpms[0]:g}{'' if len(bpms) == 1 else '–' + format(bpms[-1], 'g')} BPM · "
                 f"{info['tempo_map']['beats_per_bar']}/4")
    return (f"**{c.id}** {c.preset} · {c.start_s:.2f}–{c.end_s:.2f} s · status **{p.status(cue_id)}**{tempo}"
            f"\n\nhits: {hits or 'none'}" + (f"\n\nnote: {plain(c.note)}" if c.note else "")
            + (("\n\nlately: " + " · ".join(f"{plain(a.user or 'owner')} {a.action} {plain(a.detail)}"
                                             for a in reversed(recent))) if recent else ""))


TIMELINE_LEGEND = (
    '<div class="scorer-legend" style="font-size:13px;opacity:.85;margin-top:2px">'
    'top to bottom: timecode · shots (shade: brightness) · cues (colour: preset; white line: intensity; '
    '✓ approved, 🔒 locked; ▼ a note) · hits (<span style="color:#ff4d4d">red</span>: the music lands it; '
    'dashed grey: not scored) · <span style="color:#6fbf73">the cut\'s own sound</span> · '
    '<span style="color:#7fb3ff">dialogue</span> · white line: the playhead</div>')


def timeline_html(p, cue_id: str | None) -> str:
    from ui.timeline import timeline_svg

    sheet = p.cue_sheet()
    statuses = {c.id: p.status(c.id) for c in sheet.cues}
    from scorer.studio import production_waveform

    notes = tuple((n.t_s, f"{n.author}: {n.text[:200]}") for n in p.notes() if n.reply_to is None)
    svg = timeline_svg(sheet, selected=cue_id, statuses=statuses, notes=notes, waveform=production_waveform(p))
    return f'<div class="scorer-timeline">{svg}{TIMELINE_LEGEND}</div>'


# --- the app -----------------------------------------------------------------------------------

def build_app(project: str | None = None, *, projects_dir: str | os.PathLike = "projects"):
    """The studio as gr.Blocks. project: a folder opened for every new browser session."""
    import gradio as gr

    from scorer import studio
    from scorer.mix.loudness import SPECS
    from scorer.music.presets import load_presets
    from scorer.settings import ScoreSettings

    projects_dir = Path(projects_dir)
    preset_names = sorted(load_presets())
    # What the browser may fetch is copied here first and handed to Gradio, which serves
    # only files the app handed out: never the project's database or anything else.
    # Inside Gradio's own cache folder, so Gradio serves these files as they are instead of
    # copying each (a delivery zip is tens of MB) into its cache a second time.
    from gradio.utils import get_upload_folder
    Path(get_upload_folder()).mkdir(parents=True, exist_ok=True)
    serve_dir = Path(tempfile.mkdtemp(prefix="scorer-studio-", dir=get_upload_folder()))
    atexit.register(shutil.rmtree, serve_dir, ignore_errors=True)

    # Takes are composed and rendered in worker processes (HEAVY_LIMIT of them, started on
    # first use), so the page's own process keeps its interpreter for light requests.
    workers: dict = {}
    workers_lock = threading.Lock()

    def in_worker(fn, *args, **kwargs):
        with workers_lock:
            if "pool" not in workers:
                ctx = multiprocessing.get_context("spawn")
                # Takes are made at a lower priority than the server and the pages: with
                # both cores making takes, a click still gets the processor first.
                workers["pool"] = concurrent.futures.ProcessPoolExecutor(HEAVY_LIMIT, mp_context=ctx,
                                                                         initializer=os.nice, initargs=(WORKER_NICE,))
                atexit.register(workers["pool"].shutdown, wait=False, cancel_futures=True)
            pool = workers["pool"]
        try:
            return pool.submit(fn, *args, **kwargs).result()
        except concurrent.futures.process.BrokenProcessPool:
            with workers_lock:
                workers.pop("pool", None)      # the next request starts fresh workers
            raise InputError("the worker making the take stopped (out of memory?); the take is marked failed")

    # Takes asked for in one go, by project folder: they run on whether or not the page that
    # asked is still open (a reload shows them), until done or cancelled.
    batches: dict[str, list[Batch]] = {}
    batches_lock = threading.Lock()

    def start_batch(folder: str, jobs: list[str], *, by: str | None, bulk: bool) -> Batch:
        batch = Batch(folder, jobs, by=by, bulk=bulk,
                      make=lambda *a, **k: in_worker(studio.regenerate_in, *a, **k))
        with batches_lock:
            kept = [b for b in batches.get(folder, []) if not b.finished.is_set()]
            batches[folder] = kept[-7:] + [batch]
        batch.thread.start()
        return batch

    def batch_lines(folder: str) -> str:
        with batches_lock:
            return "\n\n".join(b.line() for b in batches.get(folder, []))

    def cancel_batches(folder: str, by: str | None) -> int:
        """Cancel the project's running batches (this person's, where it has people)."""
        with batches_lock:
            running = [b for b in batches.get(folder, []) if not b.finished.is_set() and (by is None or b.by == by)]
        for b in running:
            b.cancelled.set()
        return len(running)

    def _handed_out(path: Path, shelf: Path) -> Path:
        # One copy per file and version (its path, size and time name its folder, inside
        # which it keeps its own name: a download is called what the file is), handed out
        # again as long as it is there. A hard link where the disk allows: a cut can be GBs.
        st = path.stat()
        key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:20]
        target = shelf / key / path.name
        if target.is_file():
            os.utime(target.parent)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        # Its own partial name per thread: two pages asking for the same file at once
        # (two people opening the project) each link or copy, and the last replace wins.
        partial = target.with_name(f".{target.name}.{threading.get_ident()}.partial")
        try:
            os.link(path, partial)
        except OSError:
            shutil.copyfile(path, partial)
        os.replace(partial, target)
        return target

    def serve(path: Path) -> str:
        """A file for the browser (a take, a preview, a delivery zip). Bounded: only the
        newest SERVE_KEEP stay handed out (Gradio's own cache copy is swept by delete_cache
        below), so a long session does not fill the disk; the review player asks again
        for a file whose link has gone (ui/review.py)."""
        path = Path(path)
        target = _handed_out(path, serve_dir / "files")
        old = sorted((d for d in (serve_dir / "files").iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime)
        for d in old[:max(len(old) - SERVE_KEEP, 0)]:
            if d != target.parent:
                shutil.rmtree(d, ignore_errors=True)
        return str(target)

    def serve_cut(path: str) -> str:
        """The project's cut for the review player: kept handed out for the studio's life
        (one per cut, linked where the disk allows), not in the rotation."""
        return str(_handed_out(Path(path), serve_dir / "cuts"))

    start_folder = str(Path(project).resolve()) if project else ""

    def detail_of(p, folder: str, cue_id: str | None) -> str:
        """The cue's detail, and the takes being made in this project (by anyone)."""
        running = batch_lines(folder)
        return cue_detail(p, cue_id) + (f"\n\n{running}" if running else "")

    def refresh(folder: str, cue_id: str | None):
        """Everything that shows the project, for `cue_id` (or the first cue)."""
        if not folder:
            return ("<p>No project open.</p>", gr.update(value=[]), gr.update(choices=[], value=None),
                    gr.update(choices=[], value=None), gr.update(choices=[], value=None), "", "")
        p = _open(folder)
        ids = [c.id for c in p.cue_sheet().cues]
        if cue_id not in ids:
            cue_id = ids[0] if ids else None
        choices = take_choices(p, cue_id)
        values = [v for _, v in choices]
        return (timeline_html(p, cue_id), gr.update(value=cue_rows(p)), gr.update(choices=ids, value=cue_id),
                gr.update(choices=choices, value=values[0] if values else None),
                gr.update(choices=choices, value=values[1] if len(values) > 1 else None),
                detail_of(p, folder, cue_id), f"Project: `{p.folder.name}` · cut `{Path(p.cut_path).name}`")

    with gr.Blocks(title="scorer studio", delete_cache=(300, 900)) as demo:
        folder = gr.State(start_folder)
        header = gr.Markdown("## scorer studio — temp score drafts, for people to decide")
        project_line = gr.Markdown("")
        with gr.Accordion("Project", open=not start_folder):
            with gr.Row():
                new_name = gr.Textbox(label="new project name", scale=2)
                cut_file = gr.File(label="cut (video file)", file_types=["video"], scale=3)
                theme_file = gr.File(label="theme (optional: MIDI or a recording)", scale=2,
                                     file_types=[".mid", ".midi", ".wav", ".mp3", ".flac", ".ogg", ".m4a"])
                create_btn = gr.Button("Create and analyse", variant="primary")
            with gr.Row():
                # What a new project is spotted and scored with (kept in the project, as
                # `scorer project new` keeps its options).
                timeline_file = gr.File(label="editor's timeline (optional: EDL, OTIO, FCP XML)", scale=2,
                                        file_types=[".edl", ".otio", ".fcpxml", ".xml"])
                notes_file = gr.File(label="director's notes (optional: 'IN [OUT] text' lines)", scale=2,
                                     file_types=[".txt", ".md", ".csv"])
                new_seed = gr.Number(label="seed", value=0, precision=0, minimum=0, scale=1)
                new_spec = gr.Dropdown(sorted(SPECS), value="ebu", label="loudness spec", scale=1)
            with gr.Row():
                # The projects this studio keeps, to pick from (or type a name).
                open_name = gr.Dropdown(existing_projects(projects_dir), label="open a project", value=None,
                                        allow_custom_value=True, scale=2)
                open_btn = gr.Button("Open")
        # The work on a project shows once one is open: an empty studio offers only the
        # project box (new or open) and nothing that would need a project to act on.
        with gr.Column(visible=bool(start_folder)) as workspace:
            timeline = gr.HTML(elem_id="timeline")
            with gr.Row():
                # The picture with the picked cue's takes: its markup never changes, what it
                # plays comes through review_config (ui/review.py).
                review = gr.HTML("", html_template=PLAYER_TEMPLATE, css_template=PLAYER_CSS, js_on_load=PLAYER_JS,
                                 elem_id="review", scale=3, min_width=420)
                # (side by side from about 1100 px; below the picture on a narrower window)
                with gr.Column(scale=2, min_width=620):
                    cue_table = gr.Dataframe(headers=CUE_HEADERS, interactive=False, label="cues (click a row to pick it)", elem_id="cues",
                                             wrap=True)
            review_cfg = gr.Textbox(visible="hidden", elem_id="review-config")
            with gr.Row():
                # Choices change with the project; the handlers check every value they get.
                cue_pick = gr.Dropdown(label="cue", choices=[], scale=1, allow_custom_value=True)
                detail = gr.Markdown("")
            with gr.Tab("Takes"):
                with gr.Row():
                    n_takes = gr.Slider(1, studio.MAX_TAKES_AT_ONCE, value=2, step=1, label="takes")
                    regen_btn = gr.Button("Regenerate (new seeds)", variant="primary", elem_id="regenerate")
                    regen_neural_btn = gr.Button("MusicGen take")
                    regen_all_btn = gr.Button("Regenerate all open cues")
                    cancel_btn = gr.Button("Cancel", variant="stop")
                with gr.Row():
                    refine_what = gr.Radio(["preset", "intensity", "tempo_bpm", "seed"], value="preset",
                                           label="refine: change one thing")
                    refine_preset = gr.Dropdown(preset_names, label="preset", value=preset_names[0])
                    refine_value = gr.Number(label="intensity 0…1 / tempo BPM / seed", value=0.5)
                    refine_btn = gr.Button("Refine")
                with gr.Row():
                    take_a = gr.Dropdown(label="A", choices=[], allow_custom_value=True)
                    take_b = gr.Dropdown(label="B", choices=[], allow_custom_value=True)
                with gr.Row():
                    audio_a = gr.Audio(label="take A", interactive=False, elem_id="audio-a")
                    audio_b = gr.Audio(label="take B", interactive=False, elem_id="audio-b")
                with gr.Row():
                    select_a = gr.Button("Select A")
                    select_b = gr.Button("Select B")
                gr.Markdown(STATUS_HELP)
                with gr.Row():
                    approve_btn = gr.Button("Approve (director)", elem_id="approve")
                    lock_btn = gr.Button("Lock (composer)", elem_id="lock")
                    unlock_btn = gr.Button("Unlock (composer)", elem_id="unlock")
                    back_btn = gr.Button("Step back one status", elem_id="step-back")
                with gr.Row():
                    changes_text = gr.Textbox(label="what should change", scale=3, max_length=NOTE_MAX_CHARS)
                    changes_btn = gr.Button("Request changes (director)", elem_id="request-changes")
            with gr.Tab("Edit cue"):
                edit_seen = gr.State({})        # the cue as these fields were filled from it
                with gr.Row():
                    # Times as timecode (the picture's, as the cue table shows) or seconds;
                    # filled from the cue when it is picked.
                    edit_in = gr.Textbox(label="in (timecode or s)")
                    edit_out = gr.Textbox(label="out (timecode or s)")
                    move_btn = gr.Button("Move in/out")
                with gr.Row():
                    edit_preset = gr.Dropdown(preset_names, label="preset")
                    edit_intensity = gr.Slider(0, 1, value=0.5, step=0.05, label="intensity")
                    set_btn = gr.Button("Set preset and intensity")
                with gr.Row():
                    split_at = gr.Textbox(label="split at (timecode or s)")
                    split_btn = gr.Button("Split")
                    merge_btn = gr.Button("Merge with next cue")
                with gr.Row():
                    hit_at = gr.Textbox(label="hit at (timecode or s)")
                    hit_to = gr.Textbox(label="move to (timecode or s)")
                    add_hit_btn = gr.Button("Add hit")
                    remove_hit_btn = gr.Button("Remove hit")
                    move_hit_btn = gr.Button("Move hit")
            with gr.Tab("Notes"):
                with gr.Row():
                    note_tc = gr.Textbox(label="timecode", placeholder="00:00:12:00 (or: note here, under the picture)",
                                         elem_id="note-tc")
                    note_author = gr.Textbox(label="your name")
                    note_text = gr.Textbox(label="note", scale=3, max_length=NOTE_MAX_CHARS)
                    note_btn = gr.Button("Add note")
                with gr.Row():
                    thread = gr.Dropdown(label="thread", choices=[], value=None, scale=2, elem_id="thread")
                    reply_text = gr.Textbox(label="reply", scale=3, max_length=NOTE_MAX_CHARS)
                    reply_btn = gr.Button("Reply")
                    resolve_btn = gr.Button("Resolve")
                    reopen_btn = gr.Button("Reopen")
                with gr.Row():
                    notes_cue = gr.Radio(["all cues", "this cue"], value="all cues", label="show")
                    notes_author = gr.Dropdown(["anyone"], value="anyone", label="by", allow_custom_value=True)
                    notes_open = gr.Checkbox(label="open threads only", value=False)
                notes_view = gr.Markdown("", elem_id="notes")
                with gr.Accordion("Since you last looked", open=False):
                    since_view = gr.Markdown("", elem_id="since")
                    seen_btn = gr.Button("Mark all as seen")
            with gr.Tab("Export"):
                spec = gr.Dropdown([("the project's", ""), *((name, name) for name in sorted(SPECS))], value="",
                                   label="loudness spec")
                # On top of what the project was made with (`scorer project export` has the same).
                extras = gr.CheckboxGroup([("click track with count-ins", "click"), ("each cue's stems", "per_cue_stems"),
                                           ("timecode and cue names burnt into the preview", "burn_in")], value=[],
                                          label="also deliver")
                with gr.Row():
                    export_btn = gr.Button("Export the delivery (zip)", variant="primary", elem_id="export")
                    # A link handed out long ago may be gone (the studio keeps a few): this
                    # hands out the project's newest delivery again, from its exports/.
                    latest_btn = gr.Button("Hand out the latest delivery again", elem_id="latest-delivery")
                export_file = gr.File(label="delivery", interactive=False)
                player = gr.Video(label="the delivery's preview: the cut with the whole temp score", interactive=False)
        message = gr.Markdown("")

        views = [timeline, cue_table, cue_pick, take_a, take_b, detail, project_line]
        # The notes have filters of this person's: shown by notes_of, after what changes them.
        notes_views = [notes_view, thread, notes_author, since_view]
        notes_inputs = [folder, cue_pick, notes_cue, notes_author, notes_open]

        # --- handlers: each checks its input, calls the API, and shows the project again ----

        def on_load(f, request: gr.Request):
            # A reload keeps the project the page had open (its name is in the address).
            name = request.query_params.get("project") if request is not None else None
            if name:
                try:
                    target = project_folder(projects_dir, name)
                    _open(str(target))
                    f = str(target)
                except ScorerError as exc:
                    raise _gr_error(exc)
            return (f, *refresh(f, None))
        # (This module's annotations are strings and gradio is imported here, not at the top:
        # give Gradio the class itself, which is how it knows to pass the request.)
        on_load.__annotations__["request"] = gr.Request

        def create(name, upload, theme_upload, timeline_upload, notes_upload, seed, spec_name,
                   progress=gr.Progress()):
            try:
                if upload is None:
                    raise InputError("upload the cut first")
                target = project_folder(projects_dir, name)
                if (target / "project.db").exists():
                    raise InputError(f"a project {target.name!r} already exists; open it instead")
                # The uploads are copied into the project: Gradio's upload folder is temporary.
                fresh = not target.exists()
                media = target / "media"
                try:
                    media.mkdir(parents=True, exist_ok=True)
                    cut = media / _upload_name(upload, "cut")
                    shutil.copyfile(upload, cut)
                    kept = {}
                    for what, up in (("theme", theme_upload), ("timeline", timeline_upload),
                                     ("notes", notes_upload)):
                        if up is not None:
                            kept[what] = media / _upload_name(up, what)
                            shutil.copyfile(up, kept[what])
                    settings = ScoreSettings(seed=int(seed or 0), spec=spec_name or "ebu",
                                             **{k: str(v) for k, v in kept.items()})
                    studio.new_project(target, cut, settings, progress=_progress_fn(progress))
                except BaseException:
                    if fresh:
                        shutil.rmtree(target, ignore_errors=True)
                    raise
                return (str(target), *refresh(str(target), None), f"Created **{target.name}**.")
            except ScorerError as exc:
                raise _gr_error(exc)

        def open_project(name):
            try:
                target = project_folder(projects_dir, name)
                _open(str(target))
                return (str(target), *refresh(str(target), None), f"Opened **{target.name}**.")
            except ScorerError as exc:
                raise _gr_error(exc)

        def who(f, request) -> str | None:
            """Who acts: the person logged in, on a project that has people (their role
            decides what they may do); None on a project without people (its owner)."""
            if not _open(f).users():
                return None
            name = getattr(request, "username", None)
            if not name:
                raise InputError("this project has people: start the studio again (scorer ui) so that each "
                                 "logs in and acts by their role")
            return name

        def _as_person(fn):
            fn.__annotations__["request"] = gr.Request      # (strings here: see on_load)
            return fn

        def preset_lists(f):
            """The preset menus list what the open project can compose with: the shipped
            presets and the user presets it keeps."""
            names = sorted(studio.project_presets(_open(f))) if f else preset_names
            return gr.update(choices=names), gr.update(choices=names)

        def pick(f, cue_id):
            try:
                return refresh(f, cue_id)
            except ScorerError as exc:
                raise _gr_error(exc)

        def follow(batch: Batch, f: str, cue_id: str, progress, note: str = ""):
            """Show a batch's takes as each lands, until it is done. The page may go away
            meanwhile: the batch does not (a reload shows it on the detail line)."""
            shown = -1
            while True:
                done = batch.finished.wait(0.25)
                if batch.made != shown or done:
                    shown = batch.made
                    progress((batch.made, len(batch.jobs)), desc=f"take {min(batch.made + 1, len(batch.jobs))} "
                                                                f"of {len(batch.jobs)}")
                    if batch.error and done:
                        raise InputError(batch.error)
                    tail = "." if done else " …"
                    of = f" of {batch.jobs[0]}" if len(set(batch.jobs)) == 1 and not batch.bulk else ""
                    yield (*refresh(f, cue_id), f"{batch.made} new take(s){of}{note}"
                                                f"{' (cancelled)' if done and batch.cancelled.is_set() else ''}{tail}")
                if done:
                    return

        @_as_person
        def cancel_takes(f, request: gr.Request = None):
            if not f:
                return ""
            n = cancel_batches(f, who(f, request))
            return f"Cancelling: the take being made is finished, no more start ({n} batch(es))." if n else \
                "No takes are being made."

        # Takes are made one at a time and shown as each lands: Cancel stops before the
        # next one (a take being written is finished, never left half-made).
        @_as_person
        def regen(f, cue_id, n, request: gr.Request = None, progress=gr.Progress()):
            try:
                p = _open(f)
                by = who(f, request)
                n = int(n)
                if not 1 <= n <= studio.MAX_TAKES_AT_ONCE:
                    raise InputError(f"takes must be 1…{studio.MAX_TAKES_AT_ONCE}, got {n}")
                p.require(by, "take")
                if p.status(cue_id) == "locked":
                    raise InputError(f"cue {cue_id} is locked; unlock it before making new takes")
                yield from follow(start_batch(f, [cue_id] * n, by=by, bulk=False), f, cue_id, progress)
            except ScorerError as exc:
                raise _gr_error(exc)

        @_as_person
        def regen_neural(f, cue_id, request: gr.Request = None, progress=gr.Progress()):
            """One MusicGen take (needs its weights; see the README). Own queue: one at a time."""
            try:
                p = _open(f)
                by = who(f, request)
                progress(None, desc=f"MusicGen take of {cue_id}")
                ids = in_worker(studio.regenerate_in, str(p.folder), [cue_id], takes=1, backend="musicgen", by=by)
                return (*refresh(f, cue_id), f"MusicGen take {ids[0]} of {cue_id}.")
            except ScorerError as exc:
                raise _gr_error(exc)

        @_as_person
        def regen_all(f, cue_id, request: gr.Request = None, progress=gr.Progress()):
            try:
                p = _open(f)
                by = who(f, request)
                ids = [c.id for c in p.cue_sheet().cues]
                todo = p.regenerable(ids)
                skipped = sorted(set(ids) - set(todo))
                note = f"; approved/locked left alone: {', '.join(skipped)}" if skipped else ""
                if not todo:
                    yield (*refresh(f, cue_id), f"0 new take(s){note}.")
                    return
                p.require(by, "take")
                yield from follow(start_batch(f, todo, by=by, bulk=True), f, cue_id, progress, note=note)
            except ScorerError as exc:
                raise _gr_error(exc)

        @_as_person
        def refine(f, cue_id, what, preset, value, request: gr.Request = None, progress=gr.Progress()):
            try:
                p = _open(f)
                by = who(f, request)
                if what == "preset":
                    change = {"preset": preset}
                elif what == "seed":
                    change = {"seed": int(value)}
                else:
                    change = {what: float(value)}
                progress(None, desc=f"refining {cue_id}")
                take_id = in_worker(studio.refine_in, str(p.folder), cue_id, change, by)
                return (*refresh(f, cue_id), f"take {take_id}: {what} changed, the rest kept.")
            except (ScorerError, ValueError, TypeError) as exc:
                raise _gr_error(exc)

        def audio_of(f, take_id):
            if not f or take_id is None:
                return None
            try:
                p = _open(f)
                return serve(studio.take_file(p, p.take(int(take_id)), "take.wav"))
            except ScorerError as exc:
                raise _gr_error(exc)

        @_as_person
        def select(f, cue_id, take_id, request: gr.Request = None):
            try:
                p = _open(f)
                if take_id is None:
                    raise InputError("pick a take first")
                p.select(cue_id, int(take_id), by=who(f, request))
                return (*refresh(f, cue_id), f"{cue_id}: take {take_id} selected.")
            except ScorerError as exc:
                raise _gr_error(exc)

        def _status_action(what):
            @_as_person
            def act(f, cue_id, request: gr.Request = None):
                try:
                    p = _open(f)
                    by = who(f, request)
                    now = p.status(cue_id)
                    order = ("spotted",) + STATUS_STEPS
                    if what == "approve":
                        p.set_status(cue_id, "approved", by=by)
                    elif what == "lock":
                        p.set_status(cue_id, "locked", by=by)
                    elif what == "unlock":
                        if now != "locked":
                            raise InputError(f"{cue_id} is {now}, not locked: nothing to unlock")
                        p.set_status(cue_id, "approved", back=True, by=by)
                    else:
                        if now == "spotted":
                            raise InputError(f"{cue_id} is spotted: nothing to step back to")
                        p.set_status(cue_id, order[order.index(now) - 1], back=True, by=by)
                    return (*refresh(f, cue_id), f"{cue_id} is {p.status(cue_id)}.")
                except ScorerError as exc:
                    raise _gr_error(exc)
            return act

        @_as_person
        def request_changes(f, cue_id, text, request: gr.Request = None):
            try:
                p = _open(f)
                by = who(f, request)
                note = p.request_changes(cue_id, text or "", by=by, author=by or "owner")
                return (*refresh(f, cue_id), f"Changes asked for on {cue_id} (note #{note.id}); "
                                             f"{cue_id} is {p.status(cue_id)}.")
            except ScorerError as exc:
                raise _gr_error(exc)

        def edit(fn):
            """A handler for an edit of the cue sheet: fn(sheet, cue_id, *values) → (sheet,
            touched cue ids, the cue to show). Its inputs are spelled out (Gradio maps them
            by position and passes the request by its annotation)."""
            def run(f, cue_id, args, seen, request):
                try:
                    p = _open(f)
                    sheet, touched, cue_after = fn(p.cue_sheet(), cue_id, *args)
                    try:
                        # seen: the cue as this page last showed it; changed since by
                        # someone else, the edit is not saved and the fields show the change.
                        studio.save_edit(p, sheet, touched=touched, by=who(f, request), seen=seen or {})
                        said = "Cue sheet saved."
                    except studio.EditConflict as exc:
                        cue_after, said = cue_id, f"Not saved: {exc}"
                    return (*refresh(f, cue_after), said, *fill_edit(f, cue_after))
                except (ScorerError, TypeError, ValueError) as exc:
                    raise _gr_error(exc)

            n = fn.__code__.co_argcount - 2
            if n == 0:
                def handler(f, cue_id, seen=None, request: gr.Request = None):
                    return run(f, cue_id, (), seen, request)
            elif n == 1:
                def handler(f, cue_id, a, seen=None, request: gr.Request = None):
                    return run(f, cue_id, (a,), seen, request)
            else:
                def handler(f, cue_id, a, b, seen=None, request: gr.Request = None):
                    return run(f, cue_id, (a, b), seen, request)
            return _as_person(handler)

        def _time(sheet, x, what):
            """Seconds into the cut of what was typed (timecode or seconds)."""
            from scorer.timebase import frame_to_s, picture_frame

            if x is None or not str(x).strip():
                raise InputError(f"enter {what} (timecode or seconds)")
            src = sheet.source
            return frame_to_s(picture_frame(str(x), src.fps, start_frame=src.start_frame), src.fps)

        def _hit_time(sheet, cue_id, x):
            """The time of the cue's hit at the frame typed (a timecode names a frame, the
            hit sits at its exact time inside it)."""
            from scorer.timebase import s_to_frame

            t = _time(sheet, x, "the hit's time")
            cue = next(c for c in sheet.cues if c.id == cue_id)
            fps = sheet.source.fps
            same = [h.t_s for h in cue.hits if s_to_frame(h.t_s, fps) == s_to_frame(t, fps)]
            return same[0] if same else t

        def fill_edit(f, cue_id):
            """The Edit cue fields as the picked cue has them."""
            if not f or not cue_id:
                return ("",) * 5 + (gr.update(), gr.update(), {})
            from scorer.timebase import s_to_smpte

            sheet = _open(f).cue_sheet()
            cue = next((c for c in sheet.cues if c.id == cue_id), None)
            if cue is None:
                return ("",) * 5 + (gr.update(), gr.update(), {})
            src = sheet.source
            tc = lambda t: s_to_smpte(t, src.fps, start_frame=src.start_frame)  # noqa: E731
            first_hit = tc(cue.hits[0].t_s) if cue.hits else ""
            return (tc(cue.start_s), tc(cue.end_s), tc((cue.start_s + cue.end_s) / 2), first_hit, first_hit,
                    gr.update(value=cue.preset), gr.update(value=round(min(max(mean_intensity(cue), 0.0), 1.0), 2)),
                    {cue_id: studio.cue_version(sheet, cue_id)})

        do_move = edit(lambda s, c, a, b: (studio.move_cue(s, c, start_s=_time(s, a, "the cue's in"),
                                                           end_s=_time(s, b, "the cue's out")), [c], c))
        @_as_person
        def do_set(f, cue_id, pr, it, seen=None, request: gr.Request = None):
            try:
                presets = studio.project_presets(_open(f))      # a user preset the project keeps, too
            except (ScorerError, TypeError, ValueError) as exc:
                raise _gr_error(exc)
            return edit(lambda s, c, pr, it: (studio.set_cue(s, c, preset=pr, intensity=it, presets=presets),
                                              [c], c))(f, cue_id, pr, it, seen, request)
        do_split = edit(lambda s, c, at: (studio.split_cue(s, c, _time(s, at, "where to split")), [c], c))

        def _merge(s, c):
            ids = [x.id for x in s.cues]
            i = ids.index(c)
            if i + 1 >= len(ids):
                raise InputError(f"{c} is the last cue: nothing to merge it with")
            return studio.merge_cues(s, c, ids[i + 1]), [c, ids[i + 1]], c
        do_merge = edit(_merge)
        do_add_hit = edit(lambda s, c, at: (studio.add_hit(s, c, _time(s, at, "the hit's time")), [c], c))
        do_remove_hit = edit(lambda s, c, at: (studio.remove_hit(s, c, _hit_time(s, c, at)), [c], c))
        do_move_hit = edit(lambda s, c, a, b: (studio.move_hit(s, c, _hit_time(s, c, a),
                                                               _time(s, b, "where to move it")), [c], c))

        @_as_person
        def add_note(f, cue_id, tc, author, text, which, author_filter, open_only, request: gr.Request = None):
            try:
                # Pinned to the cue that plays at the timecode, whichever cue is picked; by
                # the person logged in, where the project has people. The notes list comes
                # in the same answer: the writer sees the note at once.
                by = who(f, request)
                note = _open(f).add_note(None, tc or "", author=by or author or "", text=text or "", by=by)
                return (*refresh(f, cue_id), f"Note added to {note.cue_id} at {note.timecode}.",
                        *notes_of(f, cue_id, which, author_filter, open_only, request))
            except ScorerError as exc:
                raise _gr_error(exc)

        @_as_person
        def notes_of(f, cue_id, which, author, open_only, request: gr.Request = None):
            """The notes as this person filters them, the threads to answer, who wrote
            notes, and what others did since this person last looked."""
            if not f:
                return "", gr.update(choices=[], value=None), gr.update(choices=["anyone"]), ""
            p = _open(f)
            by = p.users() and getattr(request, "username", None) or None
            authors = ["anyone", *sorted({n.author for n in p.notes()})]
            author = author if author in authors else "anyone"
            md = notes_markdown(p, cue_id if which == "this cue" and cue_id else None,
                                author=None if author == "anyone" else author, open_only=bool(open_only))
            return (md, gr.update(choices=thread_choices(p)), gr.update(choices=authors), since_markdown(p, by))

        def _thread_action(what):
            @_as_person
            def act(f, cue_id, note_id, text, author, request: gr.Request = None):
                try:
                    p = _open(f)
                    by = who(f, request)
                    if note_id is None:
                        raise InputError("pick a thread first")
                    if what == "reply":
                        n = p.add_note(None, None, author=by or author or "", text=text or "", by=by,
                                       reply_to=int(note_id))
                        done = f"Replied on #{n.reply_to}."
                    else:
                        n = p.resolve_note(int(note_id), by=by, reopen=what == "reopen")
                        done = f"#{n.id} {'reopened' if what == 'reopen' else 'resolved'}."
                    return (*refresh(f, cue_id), done)
                except ScorerError as exc:
                    raise _gr_error(exc)
            return act

        @_as_person
        def mark_seen(f, request: gr.Request = None):
            p = _open(f)
            by = p.users() and getattr(request, "username", None) or None
            if by:
                p.mark_seen(by)
            return since_markdown(p, by)

        def latest_delivery(f):
            try:
                p = _open(f)
                zips = sorted((p.folder / "exports").glob("*.zip"), key=lambda z: z.stat().st_mtime)
                if not zips:
                    raise InputError("no delivery yet: export one first")
                z = zips[-1]
                preview = z.with_suffix("") / "preview.mp4"      # a delivery's folder is named as its zip
                return (serve(z), serve(preview) if preview.exists() else None, f"Handed out again: {z.name}")
            except ScorerError as exc:
                raise _gr_error(exc)

        @_as_person
        def do_export(f, spec_name, also=(), request: gr.Request = None, progress=gr.Progress()):
            try:
                p = _open(f)
                changes_by = who(f, request)
                changes = {**({"spec": spec_name} if spec_name else {}), **{k: True for k in also or ()}}
                z = studio.export(p, progress=_progress_fn(progress), by=changes_by, **changes)
                preview = z.with_suffix("") / "preview.mp4"
                return (serve(z), (serve(preview) if preview.exists() else None),
                        f"Exported: {z.name}")
            except ScorerError as exc:
                raise _gr_error(exc)

        # Progress, and a failure's one message, show on the message line only (and a
        # failure as a toast that can be closed): every other view stays usable.
        heavy = {"concurrency_limit": HEAVY_LIMIT, "concurrency_id": "heavy", "show_progress_on": [message]}
        light = {"concurrency_limit": None, "show_progress": "hidden", "show_progress_on": [message]}
        load_ev = demo.load(_closing(on_load), [folder], [folder, *views], api_name="view", **light)
        remember = "(name) => { const u = new URL(window.location); u.searchParams.set('project', name.trim()); " \
                   "window.history.replaceState(null, '', u); }"
        create_ev = create_btn.click(_heavy(create), [new_name, cut_file, theme_file, timeline_file, notes_file,
                                                       new_seed, new_spec], [folder, *views, message],
                                     api_name="create_project", **heavy)
        create_ev.success(None, [new_name], None, js=remember)
        open_ev = open_btn.click(_closing(open_project), [open_name], [folder, *views, message], api_name="open_project",
                                 **light)
        open_ev.success(None, [open_name], None, js=remember)
        for ev in (load_ev, create_ev, open_ev):
            ev.success(_closing(preset_lists), [folder], [refine_preset, edit_preset], api_name=False, **light)
            ev.success(lambda f: gr.update(visible=bool(f)), [folder], [workspace], api_name=False, **light)
            ev.success(lambda: gr.update(choices=existing_projects(projects_dir)), None, [open_name], api_name=False,
                       **light)
        cue_pick.input(_closing(pick), [folder, cue_pick], views, api_name="view_cue", **light)

        # What others do shows without a reload: every few seconds the page reads the
        # project again for the views that never hold a choice of this person's (the
        # timeline, the cue table, the notes, the cue's detail) — the pickers are left alone.
        def change_token(f: str) -> str:
            """What an open page last showed of the project: project.db and its write-ahead
            log as the file system sees them (every commit touches one) and the running
            batches' lines. Cheap enough to ask every LIVE_S; the views are rebuilt only
            when it moved."""
            db = Path(f) / "project.db"
            stats = []
            for path in (db, db.with_name(db.name + "-wal")):
                try:
                    st = path.stat()
                    stats.append(f"{st.st_mtime_ns}:{st.st_size}")
                except FileNotFoundError:
                    stats.append("-")
            return "|".join([*stats, batch_lines(f)])

        @_as_person
        def others(f, cue_id, which, author, open_only, shown, request: gr.Request = None):
            if not f:
                return (gr.skip(),) * 8
            token = f"{f}|{cue_id}|{which}|{author}|{open_only}|{change_token(f)}"
            if token == shown:
                return (gr.skip(),) * 8
            p = _open(f)
            return (timeline_html(p, cue_id), gr.update(value=cue_rows(p)), detail_of(p, f, cue_id),
                    *notes_of(f, cue_id, which, author, open_only, request), token)

        # The review player: what it plays follows the picked cue and takes A and B; what it
        # asks (a cue clicked on the timeline, files handed out again) comes as its value.
        def config_of(f, cue_id, a, b):
            if not f:
                return ""
            from ui.timeline import PAD_X

            p = _open(f)
            return review_config(p, cue_id, a, b, serve=lambda path: file_url(serve(path)),
                                 cut_url=file_url(serve_cut(p.cut_path)), pad_x=PAD_X)

        def from_player(f, asked, cue_id, a, b):
            import json

            try:
                what = json.loads(asked or "{}")
            except ValueError:
                return (*(gr.skip(),) * len(views), gr.skip())
            if not f:
                return (*(gr.skip(),) * len(views), gr.skip())
            if what.get("pick"):
                # The player's new config in the same answer: waiting for takes A/B to
                # change (another round trip) would hold the picked cue back.
                views_now = refresh(f, str(what["pick"]))
                picked, a_now, b_now = views_now[2]["value"], views_now[3]["value"], views_now[4]["value"]
                return (*views_now, config_of(f, picked, a_now, b_now))
            return (*(gr.skip(),) * len(views), config_of(f, cue_id, a, b))

        def pick_row(f, evt: gr.SelectData):
            rows = cue_rows(_open(f)) if f else []
            row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            if not rows or not isinstance(row, int) or not 0 <= row < len(rows):
                return (gr.skip(),) * len(views)
            return refresh(f, rows[row][0])
        pick_row.__annotations__["evt"] = gr.SelectData

        live = gr.Timer(LIVE_S)
        live_shown = gr.State("")
        live.tick(_closing(others), [*notes_inputs, live_shown], [timeline, cue_table, detail, *notes_views, live_shown],
                  api_name=False,
                  concurrency_limit=None, show_progress="hidden", queue=False)
        # Whenever the picked cue changes (picked, or shown again after an edit or a load).
        for changed in (cue_pick, take_a, take_b):
            changed.change(_closing(config_of), [folder, cue_pick, take_a, take_b], [review_cfg], api_name=False,
                           **light)
        review.change(_closing(from_player), [folder, review, cue_pick, take_a, take_b], [*views, review_cfg],
                      api_name=False, **light)
        cue_table.select(_closing(pick_row), [folder], views, api_name=False, **light)
        edit_fields = [edit_in, edit_out, split_at, hit_at, hit_to, edit_preset, edit_intensity, edit_seen]
        cue_pick.change(_closing(fill_edit), [folder, cue_pick], edit_fields, api_name=False, **light)
        regen_ev = regen_btn.click(_heavy(regen), [folder, cue_pick, n_takes], [*views, message], api_name="regenerate", **heavy)
        neural_ev = regen_neural_btn.click(_heavy(regen_neural), [folder, cue_pick], [*views, message],
                                           api_name="regenerate_musicgen", concurrency_limit=NEURAL_LIMIT,
                                           concurrency_id="neural")
        regen_all_ev = regen_all_btn.click(_heavy(regen_all), [folder, cue_pick], [*views, message], api_name="regenerate_all", **heavy)
        refine_ev = refine_btn.click(_heavy(refine), [folder, cue_pick, refine_what, refine_preset, refine_value],
                                     [*views, message], api_name="refine", **heavy)
        export_ev = export_btn.click(_heavy(do_export), [folder, spec, extras], [export_file, player, message], api_name="export", **heavy)
        latest_btn.click(_closing(latest_delivery), [folder], [export_file, player, message], api_name="latest_delivery",
                         **light)
        # Cancel: the batches of takes stop before their next take (they do not stop when a
        # page closes); a MusicGen take, a refine and an export in progress are cancelled.
        cancel_btn.click(_closing(cancel_takes), [folder], [message], api_name="cancel_takes",
                         cancels=[regen_ev, neural_ev, regen_all_ev, refine_ev, export_ev], **light)
        take_a.change(_closing(audio_of), [folder, take_a], [audio_a], api_name="take_audio_a", **light)
        take_b.change(_closing(audio_of), [folder, take_b], [audio_b], api_name="take_audio_b", **light)
        select_a.click(_closing(select), [folder, cue_pick, take_a], [*views, message], api_name="select_a", **light)
        select_b.click(_closing(select), [folder, cue_pick, take_b], [*views, message], api_name="select_b", **light)
        status_events = []
        for btn, what in ((approve_btn, "approve"), (lock_btn, "lock"), (unlock_btn, "unlock"), (back_btn, "step_back")):
            status_events.append(btn.click(_closing(_status_action(what)), [folder, cue_pick], [*views, message],
                                           api_name=what, **light))
        status_events.append(changes_btn.click(_closing(request_changes), [folder, cue_pick, changes_text],
                                               [*views, message], api_name="request_changes", **light))
        note_events = [note_btn.click(_closing(add_note), [folder, cue_pick, note_tc, note_author, note_text,
                                                           notes_cue, notes_author, notes_open],
                                      [*views, message, *notes_views], api_name="add_note", **light)]
        for btn, what in ((reply_btn, "reply"), (resolve_btn, "resolve"), (reopen_btn, "reopen")):
            note_events.append(btn.click(_closing(_thread_action(what)),
                                         [folder, cue_pick, thread, reply_text, note_author], [*views, message],
                                         api_name=f"{what}_note", **light))
        for ev in (*status_events, *note_events, load_ev, open_ev, create_ev):
            ev.success(_closing(notes_of), notes_inputs, notes_views, api_name=False, **light)
        for changed in (notes_cue, notes_author, notes_open, cue_pick):
            changed.change(_closing(notes_of), notes_inputs, notes_views, api_name=False, **light)
        seen_btn.click(_closing(mark_seen), [folder], [since_view], api_name="mark_seen", **light)
        move_btn.click(_closing(do_move), [folder, cue_pick, edit_in, edit_out, edit_seen], [*views, message, *edit_fields], api_name="move_cue", **light)
        set_btn.click(_closing(do_set), [folder, cue_pick, edit_preset, edit_intensity, edit_seen], [*views, message, *edit_fields], api_name="set_cue", **light)
        split_btn.click(_closing(do_split), [folder, cue_pick, split_at, edit_seen], [*views, message, *edit_fields], api_name="split_cue", **light)
        merge_btn.click(_closing(do_merge), [folder, cue_pick, edit_seen], [*views, message, *edit_fields], api_name="merge_cue", **light)
        add_hit_btn.click(_closing(do_add_hit), [folder, cue_pick, hit_at, edit_seen], [*views, message, *edit_fields], api_name="add_hit", **light)
        remove_hit_btn.click(_closing(do_remove_hit), [folder, cue_pick, hit_at, edit_seen], [*views, message, *edit_fields], api_name="remove_hit", **light)
        move_hit_btn.click(_closing(do_move_hit), [folder, cue_pick, hit_at, hit_to, edit_seen], [*views, message, *edit_fields], api_name="move_hit", **light)
        del header
    return demo


def launch(project: str | None = None, *, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None,
           share: bool = False, projects_dir: str | os.PathLike = "projects", block: bool = True,
           max_upload: str = MAX_UPLOAD):
    """Start the studio. Binds to this machine only unless host says otherwise; no public
    link unless share=True; with auth "USER:PASS" every page asks for a login. Only
    files the app hands out (takes, previews, exports, copied into Gradio's cache) are
    served: nothing else on disk is reachable through the file routes."""
    if auth is not None and (":" not in auth or not auth.split(":", 1)[0] or not auth.split(":", 1)[1]):
        raise InputError("--auth must be USER:PASS")
    if project is not None:
        from scorer.project import Project
        Project.open(project)                    # a clear error now, not in the browser
    Path(projects_dir).mkdir(parents=True, exist_ok=True)
    hold_mmap_threshold()            # a studio runs for days: its resident size must not creep
    demo = build_app(project, projects_dir=projects_dir)
    demo.queue(default_concurrency_limit=HEAVY_LIMIT, max_size=64)
    login = tuple(auth.split(":", 1)) if auth else people_login(project, projects_dir)
    demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block,
                auth=login, max_file_size=max_upload, show_error=True, quiet=not block)
    return demo


def people_login(project: str | None, projects_dir: str | os.PathLike):
    """Where projects have people (`scorer project user add`), the login that lets each of
    them in by their own name and password (checked against its scrypt hash); None when
    no project has any. Who may do what in a project is then their role there."""
    from scorer.project import Project

    folders = [Path(project)] if project else []
    folders += [Path(projects_dir) / name for name in existing_projects(projects_dir)]

    def has_people(folder: Path) -> bool:
        p = Project.open(folder)
        try:
            return bool(p.users())
        finally:
            p.close()

    with_people = [f for f in dict.fromkeys(folders) if has_people(f)]
    if not with_people:
        return None

    def check(name: str, password: str) -> bool:
        for folder in with_people:
            p = Project.open(folder)
            try:
                if p.login(name, password):
                    return True
            finally:
                p.close()
        return False
    return check
