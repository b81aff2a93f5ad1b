"""Many cuts at once on Ray: `scorer batch CUTS... -o OUT`.

Each cut gets a project folder OUT/<cut stem>, written exactly as the studio writes one
(studio.new_project, studio.make_take, studio.export), by Ray tasks:

    analyse (one per cut) → takes (one per cue and take) → select the first takes → export

The analysis task returns two objects: a small summary the driver reads (cue ids,
seconds) and the cut's base composition, which stays in Ray's object store and is handed
to that cut's take tasks by reference (on a cluster it goes node to node, never through
the driver and never re-composed per take).

Take 0 of every cue has the project's seed, so the export is what `scorer score --seed`
writes; later takes draw their seeds from the seed, the cut's name, the cue and the
take's number (take_seed), so a rerun asks for the same takes. Take tasks are idempotent:
a done take of the same cue, seed and backend is returned instead of made again, so a
task Ray retries after its worker died (max_retries) never duplicates one; opening the
project marks the dead worker's 'running' take failed (Project.recover). Rerunning the
command resumes: cuts already analysed, takes already done and exports with nothing new
are skipped.

A neural backend renders in NeuralActors (one per GPU, each asking for it), which load
the model once and serve takes cue after cue. The driver keeps a bounded window of tasks
in Ray (exports first, then analyses, then takes) and the rest in its own queue.
"""
from __future__ import annotations

import heapq
import itertools
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from scorer.errors import BackendUnavailable, InputError
from scorer.settings import ScoreSettings, check
from scorer.studio import take_seed  # the seed of take k: one scheme for the studio and batch

TAKE_RETRIES = 3
# More than the studio's takes per click: a batch runs overnight (a trailer's alternates).
MAX_TAKES = 100




# --- the work of one task (plain functions, run inside Ray workers) -------------------------------

def analyse_cut(folder: str, cut: str, *, settings: ScoreSettings) -> tuple[dict, tuple[str, object]]:
    """Create the project for `cut` in `folder` by the settings (or open the one a run made
    before) and compose its base score. Returns (summary, (composer key, base score))."""
    from scorer import studio
    from scorer.project import Project

    t0 = time.perf_counter()
    folder_path = Path(folder)
    if (folder_path / "project.db").exists():
        p = Project.open(folder_path)
        if Path(p.cut_path) != Path(cut).resolve():
            raise InputError(f"this project is for {p.cut_path}, not {cut}", path=folder)
        skipped = True
    else:
        p = studio.new_project(folder_path, cut, settings)
        skipped = False
    analyse_s = time.perf_counter() - t0
    composer = studio.Composer(p)
    base = composer.base()
    cues = [c.id for c in p.cue_sheet().cues]
    summary = {"cues": cues, "skipped": skipped, "analyse_s": analyse_s, "node": _node(),
               "compose_s": time.perf_counter() - t0 - analyse_s, "seed": studio.project_seed(p)}
    p.close()
    return summary, (composer._key, base)


def take_in(folder: str, cue_id: str, seed: int, base: tuple[str, object] | None = None,
            *, backend: str = "soundfont", options: dict | None = None, tracker=None,
            key: tuple | None = None, take_hook=None) -> dict:
    """One take of `cue_id` with `seed` in the project in `folder`, the rest of its
    parameters as the cue's selected take has them; a done take of the same cue, seed and
    backend is returned instead of made again. base: (key, score) from analyse_cut, so the
    score is not composed again per take. options: the backend's render options.
    tracker/key: a Tracker actor told when the take starts (for the progress line).
    take_hook: None, or a callable called as take_hook(point) at each stage make_take
    reports ("compose" first: the take's row written 'running', nothing rendered yet)
    and at "finished" (the take done in the project, not yet reported to the driver) —
    how tests kill or fail a worker at a known point; Ray pickles it to the workers.
    Returns {"take", "made", "seconds", "node"}."""
    from scorer import studio
    from scorer.project import Project

    t0 = time.perf_counter()
    if tracker is not None:
        tracker.started.remote(key)
    p = Project.open(folder)           # marks a dead worker's 'running' take failed
    try:
        done = [t for t in p.takes(cue_id) if t.status == "done" and t.seed == seed and t.backend == backend]
        if done:
            return {"take": done[0].id, "made": False, "seconds": time.perf_counter() - t0, "node": _node()}
        composer = studio.Composer(p)
        if base is not None:
            composer._key, composer._base = base
        params = {**studio.current_params(p, cue_id), "seed": seed}
        take = studio.make_take(p, cue_id, params, composer=composer, parent=studio._selected_id(p, cue_id),
                                backend=backend, options=options,
                                progress=None if take_hook is None else lambda stage, *_: take_hook(stage))
        if take_hook is not None:
            take_hook("finished")
        return {"take": take.id, "made": True, "seconds": time.perf_counter() - t0, "node": _node()}
    finally:
        p.close()


def deliver_in(folder: str, first_takes: dict[str, int], *, preview: bool = True,
               force: bool = False, options: dict[str, dict] | None = None) -> dict:
    """Select each cue's first take (cues already chosen keep their choice) and export the
    project, unless nothing changed since an earlier export (force=False). options:
    backend name → render options for neural cues. Returns {"zip", "exported", "seconds", "node"}."""
    from scorer import studio
    from scorer.project import Project

    t0 = time.perf_counter()
    p = Project.open(folder)
    try:
        for cue_id, take_id in first_takes.items():
            if p.selected(cue_id) is None and p.status(cue_id) != "locked":
                p.select(cue_id, take_id)
        earlier = sorted((p.folder / "exports").glob("*.zip"))
        if earlier and not force:
            return {"zip": str(earlier[-1]), "exported": False, "seconds": time.perf_counter() - t0,
                    "node": _node()}
        z = studio.export(p, preview=preview, options=options)
        return {"zip": str(z), "exported": True, "seconds": time.perf_counter() - t0, "node": _node()}
    finally:
        p.close()


def _node() -> str:
    """The Ray node this runs on ("" outside Ray): results say where each task ran."""
    ray = sys.modules.get("ray")
    return ray.get_runtime_context().get_node_id() if ray is not None and ray.is_initialized() else ""


# --- neural backends: one loaded model serving many cues -------------------------------------------

class NeuralActor:
    """One worker holding a neural backend's model (loaded once, in __init__) and making
    takes with it, cue after cue: start it with neural_actors(), call .take.remote(...) as
    take_in. options: the backend's render options — model (default the backend's),
    model_path (else $SCORER_MODEL_PATH or the Hugging Face cache; never downloaded),
    device (default the best there is) and the rest passed to every render."""

    def __init__(self, backend: str = "musicgen", options: dict | None = None):
        import importlib

        from scorer.render import get_backend
        from scorer.render.neural import models

        get_backend(backend)                              # BackendUnavailable here, not per take
        self.backend = backend
        self.options = dict(options or {})
        name = self.options.get("model") or importlib.import_module(f"scorer.render.neural.{backend}").DEFAULT_MODEL
        # models.load caches per process: every take's render finds this one.
        self.loaded = models.load(backend, name, model_path=self.options.get("model_path"),
                                  device=self.options.get("device"))
        self.takes = 0

    def ready(self) -> dict:
        """What this actor holds: the model, where it runs, and how many loads it took."""
        import ray

        from scorer.render.neural import models

        return {"pid": os.getpid(), "node": _node(), "model": self.loaded.name, "device": self.loaded.device,
                "loads": models.load_count(), "takes": self.takes,
                "resources": ray.get_runtime_context().get_assigned_resources()}

    def take(self, folder: str, cue_id: str, seed: int, base=None, *, tracker=None, key=None,
             take_hook=None) -> dict:
        out = take_in(folder, cue_id, seed, base, backend=self.backend, options=self.options,
                      tracker=tracker, key=key, take_hook=take_hook)
        self.takes += out["made"]
        return out


def neural_actors(backend: str, options: dict | None = None, *, count: int | None = None,
                  gpu: bool | None = None) -> list:
    """`count` NeuralActors started as Ray actors (default: one per GPU in the cluster, or
    one on a CPU when it has none), each asking for a whole GPU when gpu (default: when the
    cluster has one) so they land on GPU nodes only. Restarted (model loaded again) and
    their calls retried if their worker dies. Waits until every actor has loaded its model,
    so a missing weight fails here, once, with the backend's own message."""
    import ray

    gpus = int(ray.cluster_resources().get("GPU", 0))
    gpu = gpus >= 1 if gpu is None else gpu
    count = count or max(gpus, 1)
    cls = ray.remote(num_gpus=1 if gpu else 0, num_cpus=1, max_restarts=TAKE_RETRIES,
                     max_task_retries=TAKE_RETRIES)(NeuralActor)
    actors = [cls.remote(backend, options) for _ in range(count)]
    try:
        ray.get([a.ready.remote() for a in actors])
    except ray.exceptions.RayActorError as exc:
        cause = exc.__cause__ or exc
        lines = str(getattr(exc, "error_msg", "") or cause).strip().splitlines()
        last = lines[-1] if lines else type(exc).__name__
        if last.startswith("scorer.errors."):                 # "scorer.errors.Kind: message"
            last = last.partition(": ")[2]
        raise BackendUnavailable(f"the {backend} actor could not start: {last}") from None
    return actors


class Tracker:
    """Which take tasks have started (a Ray actor with no CPU of its own): the driver
    knows what finished, this tells what is running rather than queued."""

    def __init__(self):
        self._started: set = set()

    def started(self, key) -> None:
        self._started.add(tuple(key))

    def snapshot(self) -> set:
        return set(self._started)


# --- the driver ------------------------------------------------------------------------------------

@dataclass
class CutRun:
    """What the driver knows of one cut."""
    cut: str
    folder: str
    submitted_s: float
    cues: list[str] = field(default_factory=list)
    analysed: bool = False
    skipped: bool = False
    analyse_s: float = 0.0
    takes_wanted: int = 0
    takes_done: int = 0
    takes_made: int = 0
    takes_failed: int = 0
    take_task_s: float = 0.0
    takes_left: dict = field(default_factory=dict)     # cue id → takes not yet finished
    first_takes: dict = field(default_factory=dict)
    exported: bool = False
    export_s: float = 0.0
    zip: str = ""
    error: str = ""
    finished_s: float | None = None
    nodes: dict = field(default_factory=dict)          # "analyse"/"take"/"deliver" → Ray node ids

    @property
    def cues_done(self) -> int:
        return sum(1 for c in self.cues if self.takes_left.get(c) == 0)


def run(cuts: list[str], out: str | os.PathLike, settings: ScoreSettings | None = None, *, takes: int = 1,
        options: dict | None = None, actors: int | None = None, ray_address: str | None = None,
        quiet: bool = False, stream=None, actor_info: list | None = None, take_hook=None,
        **changes) -> list[CutRun]:
    """Analyse, take and export every cut on Ray, one project per cut in out/<cut stem>,
    each created by `settings` (or their fields as keywords: seed, backend, preview …).
    settings.backend: what renders the takes; a neural one runs in `actors` NeuralActors
    (default one per GPU, or one) holding its model, with the settings' neural options and
    `options` over them (a loaded model …). ray_address: an existing cluster ("auto", "ray://host:10001"); default a
    local instance sized to this machine (or the one this process already started).
    Progress and the summary go to `stream` (default stderr); actor_info, if given, gets
    each neural actor's ready() at the end. take_hook: handed to every take task (take_in;
    tests inject faults with it). Returns one CutRun per cut."""
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailable(f"scorer batch runs on Ray, which is not installed ({exc}); "
                                 "install the scale extra: pip install -e '.[scale]' (or pip install ray)") from None

    from scorer.render import get_backend

    stream = stream or sys.stderr
    if isinstance(takes, bool) or not isinstance(takes, int) or not 1 <= takes <= MAX_TAKES:
        raise InputError(f"takes must be 1…{MAX_TAKES}, got {takes}")
    if not cuts:
        raise InputError("no cuts given")
    settings = (settings or ScoreSettings()).with_(**changes)
    if settings.backend_by_cue or settings.timeline or settings.notes:
        raise InputError("a batch scores many cuts: per-cue backends, a timeline and notes belong to one cut "
                         "(use scorer score or a project)")
    backend, seed, preview = settings.backend, settings.seed, settings.preview
    get_backend(backend)                      # an unknown name: BackendUnavailable, listing them
    neural = backend != "soundfont"
    if options and not neural:
        raise InputError(f"render options are for the neural backends, not {backend}")
    # options: the neural backend's own (model, model_path …), over the settings' neural
    # options; those the settings hold (named models, paths, device, prompt) go into the
    # projects' settings too.
    named = {k: v for k, v in (options or {}).items() if k in ("model", "model_path", "device", "prompt")
             and isinstance(v, str)}
    if named and neural:
        settings = settings.with_(**named)
    given = {backend: dict(options)} if options else None
    check(settings, render_options=given)
    options = settings.render_options(given).get(backend) if neural else None
    stems = [Path(c).stem for c in cuts]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise InputError(f"cuts with the same name would share a project folder: {', '.join(twice)}")
    for c in cuts:
        if not Path(c).is_file():
            raise InputError("no such cut", path=str(c))
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    if not ray.is_initialized():
        if ray_address:
            ray.init(address=ray_address, log_to_driver=not quiet)
        else:
            # address="local": a new instance of this machine's own, never whichever Ray
            # cluster happens to run here (Ray's default joins it, and then refuses num_cpus).
            ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=not quiet)

    analyse_task = ray.remote(num_returns=2, max_retries=TAKE_RETRIES)(analyse_cut)
    take_task = ray.remote(max_retries=TAKE_RETRIES)(take_in)
    deliver_task = ray.remote(max_retries=TAKE_RETRIES)(deliver_in)
    tracker = ray.remote(num_cpus=0)(Tracker).remote()
    pool = neural_actors(backend, options, count=actors) if neural else []
    turn = 0

    t_start = time.perf_counter()
    runs: list[CutRun] = []
    pending: dict = {}               # ObjectRef → (kind, CutRun, extra): submitted to Ray
    waiting: list = []               # heap of (rank, order, kind, CutRun, extra): not yet submitted
    bases: dict[str, object] = {}    # cut folder → ObjectRef of its base score
    # The driver hands Ray a window of tasks at a time (Ray's own pattern for bounding a
    # queue), longest kinds first: an export (tens of seconds) starts as soon as its cut's
    # takes are done instead of queuing behind every other cut's takes, so the end of the
    # batch is not one long export on one core while the others idle.
    window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    rank = {"deliver": 0, "analyse": 1, "take": 2}
    order = itertools.count()
    # Each task is given one CPU by Ray, so it renders in one process (no pool of its own
    # competing with the tasks beside it).
    render_options = {"soundfont": {"workers": 1}, **({backend: dict(options or {})} if neural else {})}

    def queue(kind: str, r: CutRun, extra=None) -> None:
        heapq.heappush(waiting, (rank[kind], next(order), kind, r, extra))

    def submit(kind: str, r: CutRun, extra) -> None:
        nonlocal turn
        if kind == "analyse":
            ref, bases[r.folder] = analyse_task.remote(r.folder, r.cut, settings=settings)
        elif kind == "take":
            cue_id, k, s, base_ref = extra
            key = (Path(r.folder).name, cue_id, k)
            extra = (cue_id, k)
            if pool:
                ref = pool[turn % len(pool)].take.remote(r.folder, cue_id, s, base_ref, tracker=tracker, key=key,
                                                         take_hook=take_hook)
                turn += 1
            else:
                ref = take_task.remote(r.folder, cue_id, s, base_ref, tracker=tracker, key=key,
                                       take_hook=take_hook)
        else:
            # A CPU task even for neural takes: the export mixes the stems they kept. (Only
            # a cue edited in the studio since its take is generated again, with options.)
            ref = deliver_task.remote(r.folder, r.first_takes, preview=preview, force=r.takes_made > 0,
                                      options=render_options)
        pending[ref] = (kind, r, extra)

    def pump() -> None:
        while waiting and len(pending) < window:
            _, _, kind, r, extra = heapq.heappop(waiting)
            submit(kind, r, extra)

    for cut, stem in zip(cuts, stems):
        r = CutRun(cut=str(Path(cut).resolve()), folder=str(out / stem), submitted_s=time.perf_counter())
        runs.append(r)
        queue("analyse", r)
    pump()

    last_report = [0.0]

    def report(force: bool = False) -> None:
        if quiet or not (force or time.perf_counter() - last_report[0] >= 1.0):
            return
        last_report[0] = time.perf_counter()
        in_flight = {(Path(r.folder).name, *extra) for kind, r, extra in pending.values() if kind == "take"}
        running = len(in_flight & ray.get(tracker.snapshot.remote()))
        left = sum(r.takes_wanted - r.takes_done - r.takes_failed for r in runs)
        print(f"batch: cuts analysed {sum(r.analysed for r in runs)}/{len(runs)}, exported "
              f"{sum(r.finished_s is not None and not r.error for r in runs)}/{len(runs)} · cues done "
              f"{sum(r.cues_done for r in runs)}/{sum(len(r.cues) for r in runs) or '?'} · takes done "
              f"{sum(r.takes_done for r in runs)}/{sum(r.takes_wanted for r in runs) or '?'}, running {running}, "
              f"queued {left - running}, failed {sum(r.takes_failed for r in runs)} · "
              f"{time.perf_counter() - t_start:.0f} s", file=stream, flush=True)

    def maybe_deliver(r: CutRun) -> None:
        if r.takes_done + r.takes_failed >= r.takes_wanted:
            queue("deliver", r)

    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        ref = ready[0]
        kind, r, extra = pending.pop(ref)
        try:
            value = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 — a task failed for good: count it, go on
            lines = str(exc).strip().splitlines()      # Ray's message ends with the task's error
            value, error = None, f"{type(exc).__name__}: {lines[-1] if lines else ''}"
        else:
            error = ""
            r.nodes.setdefault(kind, set()).add(value["node"])
        if kind == "analyse":
            r.analysed = True
            if value is None:
                r.error, r.finished_s = error, time.perf_counter()
                bases.pop(r.folder, None)
            else:
                r.cues, r.skipped, r.analyse_s = value["cues"], value["skipped"], value["analyse_s"]
                if value["seed"] != seed and not quiet:
                    print(f"batch: {Path(r.folder).name} is a project made with seed {value['seed']}; "
                          f"its takes keep that seed (--seed {seed} is for new projects)", file=stream)
                r.takes_wanted = len(r.cues) * takes
                r.takes_left = {c: takes for c in r.cues}
                base_ref = bases.pop(r.folder)       # stays in the object store while takes hold it
                for k in range(takes):               # every cue's first take before any second one
                    for cue_id in r.cues:
                        queue("take", r, (cue_id, k, take_seed(value["seed"], Path(r.folder).name, cue_id, k),
                                          base_ref))
                if not r.cues:
                    maybe_deliver(r)
            report(force=True)
        elif kind == "take":
            cue_id, k = extra
            r.takes_left[cue_id] -= 1
            if value is None:
                r.takes_failed += 1
                r.error = r.error or f"cue {cue_id}: {error}"
            else:
                r.takes_done += 1
                r.takes_made += value["made"]
                r.take_task_s += value["seconds"]
                if k == 0 or cue_id not in r.first_takes:    # take 0, or another if it failed
                    r.first_takes[cue_id] = value["take"]
            maybe_deliver(r)
            report()
        else:
            if value is None:
                r.error = r.error or f"export: {error}"
            else:
                r.exported, r.export_s, r.zip = value["exported"], value["seconds"], value["zip"]
            r.finished_s = time.perf_counter()
            report(force=True)
        pump()

    held = ray.get([a.ready.remote() for a in pool])
    for actor in pool:
        ray.kill(actor)
    ray.kill(tracker)
    if actor_info is not None:
        actor_info.extend(held)
    if not quiet:
        _summary(runs, time.perf_counter() - t_start, stream)
        for info in held:
            print(f"{backend} actor (pid {info['pid']}, {info['device']}): {info['model']} loaded "
                  f"{info['loads']}×, {info['takes']} takes made", file=stream, flush=True)
    return runs


def _summary(runs: list[CutRun], total_s: float, stream) -> None:
    print(f"{'cut':24} {'cues':>4} {'analyse':>9} {'takes':>11} {'take s':>8} {'export':>8} {'wall':>8}  result",
          file=stream)
    for r in runs:
        analysed = "resumed" if r.skipped else f"{r.analyse_s:8.1f}s"
        takes = f"{r.takes_made}+{r.takes_done - r.takes_made}" + (f" ✗{r.takes_failed}" if r.takes_failed else "")
        export = f"{r.export_s:7.1f}s" if r.exported else ("kept" if r.zip else "—")
        wall = f"{(r.finished_s or time.perf_counter()) - r.submitted_s:7.1f}s"
        result = r.error or r.zip
        print(f"{Path(r.cut).stem[:24]:24} {len(r.cues):>4} {analysed:>9} {takes:>11} {r.take_task_s:7.1f}s "
              f"{export:>8} {wall:>8}  {result}", file=stream)
    print(f"{len(runs)} cuts in {total_s:.1f} s (takes: made+already done)", file=stream, flush=True)
