"""Load: the studio on loopback under 20 concurrent regenerations from two projects, and a
short soak of analyse → regenerate → export cycles (bench/bench_soak.py runs 100)."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from media import make_cut
from scorer import studio
from scorer.project import Project

pytestmark = pytest.mark.slow          # 30–40 s a test on 2 cores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serving(url: str, server: subprocess.Popen, log: Path) -> bool:
    import urllib.request

    if server.poll() is not None:
        raise AssertionError(f"the studio exited with {server.returncode}: {log.read_text()[-2000:]}")
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def studio_server(projects: Path):
    """The studio as people run it, `scorer ui` in a process of its own, on a free
    loopback port: (url, pid). What the soak measures is the server's memory and open
    files, not those of the clients beside it."""
    port = _free_port()
    log = projects.parent / f"studio-{port}.log"    # a file, not a pipe: a full pipe would stall it
    with open(log, "w") as sink:
        server = subprocess.Popen([sys.executable, "-c", "from scorer.cli import main; main()", "ui",
                                   "--projects", str(projects), "--port", str(port)],
                                  stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300          # a limit for a stuck start, not a timing
        while not _serving(url, server, log):
            assert time.monotonic() < deadline, "the studio did not start serving"
            time.sleep(0.5)
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(60)


@pytest.fixture(scope="module")
def studio_app(tmp_path_factory):
    d = tmp_path_factory.mktemp("load")
    cut = d / "cut.mp4"
    make_cut(cut, shot_frames=(120, 100, 30, 26, 34, 28, 150), clicks_s=(10.4,))
    projects = d / "projects"
    for name in ("Film A", "Film B"):
        studio.new_project(projects / name, cut, seed=1)
    with studio_server(projects) as (url, pid):
        yield url, projects, cut, pid


def test_twenty_concurrent_regenerations_respect_the_limit_and_lose_nothing(studio_app):
    from gradio_client import Client

    from ui.app import HEAVY_LIMIT

    url, projects, _, _ = studio_app
    a, b = Project.open(projects / "Film A"), Project.open(projects / "Film B")
    before = {p.folder.name: len(p.takes()) for p in (a, b)}
    clients = []
    for k in range(20):
        c = Client(url, verbose=False)
        c.predict("Film A" if k % 2 == 0 else "Film B", api_name="/open_project")
        clients.append(c)
    cue = a.cue_sheet().cues[0].id
    jobs = [c.submit(cue, 1, api_name="/regenerate") for c in clients]

    running_max, light_served, stop = [0], [], threading.Event()

    def watch():
        while not stop.is_set():
            n = sum(len([t for t in p.takes() if t.status == "running"]) for p in (a, b))
            running_max[0] = max(running_max[0], n)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    viewer = Client(url, verbose=False)
    viewer.predict("Film A", api_name="/open_project")
    while not all(j.done() for j in jobs):
        viewer.predict(cue, api_name="/view_cue")
        light_served.append(not all(j.done() for j in jobs))
    stop.set()
    watcher.join()
    results = [j.result() for j in jobs]
    assert all(r[-1] == f"1 new take(s) of {cue}." for r in results)
    assert 1 <= running_max[0] <= HEAVY_LIMIT
    for p in (a, b):
        new = p.takes()[before[p.folder.name]:]
        assert len(new) == 10 and all(t.status == "done" for t in new)        # none lost, none twice
        assert len({t.id for t in new}) == 10
    # Light requests are answered while the regenerations run, not queued behind them
    # (how fast is bench/bench_studio.py's to measure: no clock in a test on a busy machine).
    assert sum(light_served) >= 2, light_served
    # Each client saw its own project: its cue table counts only that project's takes.
    takes_col = 9
    for k, r in enumerate(results):
        table = r[1]["value"]["data"] if isinstance(r[1], dict) and "value" in r[1] else r[1]["data"]
        own = a if k % 2 == 0 else b
        assert int(table[0][takes_col]) <= len([t for t in own.takes(cue) if t.status == "done"])


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def _tree_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6 if path.exists() else 0.0


def _gradio_cache() -> Path:
    from gradio.utils import get_upload_folder
    return Path(get_upload_folder())


def soak(url: str, cut: Path, projects: Path, cycles: int, pid: int, report=None) -> list[dict]:
    """cycles × (create a project from the cut, regenerate a cue, export); the memory and
    open files of the server (process `pid`) and the temporary space after each."""
    from gradio_client import Client, handle_file

    rows = []
    for k in range(cycles):
        c = Client(url, verbose=False)
        out = c.predict(f"Soak {k}", handle_file(str(cut)), None, None, None, 0, "ebu", api_name="/create_project")
        cue = Project.open(projects / f"Soak {k}").cue_sheet().cues[0].id
        c.predict(cue, api_name="/view_cue")
        c.predict(cue, 1, api_name="/regenerate")
        zip_path, _, msg = c.predict("ebu", [], api_name="/export")
        assert msg.startswith("Exported: ") and out[-1].startswith("Created")
        Path(zip_path).unlink()          # the client's own download copy
        c.close()
        rows.append({"cycle": k + 1, "rss_mb": _rss_mb(pid), "fds": _fds(pid), "temp_mb": _tree_mb(_gradio_cache())})
        if report:
            report(rows[-1])
    return rows


def test_a_short_soak_keeps_memory_files_and_temp_space_bounded(studio_app):
    url, projects, cut, pid = studio_app
    rows = soak(url, cut, projects, cycles=5, pid=pid)
    first, last = rows[1], rows[-1]               # after the first cycle's warm-up
    assert last["fds"] - first["fds"] <= 8, rows
    assert last["rss_mb"] - first["rss_mb"] < 150, rows
    # Hand-outs are capped by count (SERVE_KEEP) and Gradio's cache copies by age (ui.app:
    # delete_cache), so temp space grows by at most a few exports before it is swept.
    from ui.app import SERVE_KEEP
    dirs = list(_gradio_cache().glob("scorer-studio-*"))
    assert dirs and all(len(list(d.iterdir())) <= SERVE_KEEP for d in dirs)
    assert last["temp_mb"] - first["temp_mb"] < 4 * 100, rows
