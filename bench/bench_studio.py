"""The studio's figures: how long from clicking Regenerate on a 30-second cue to a take
you can hear, and whether light actions stay quick while regenerations are queued.

    python bench/bench_studio.py

A generated 40-second cut is made a project with one 30-second cue; the studio runs on
loopback and is driven through gradio_client, as a browser would drive it (HTTP, queue,
file hand-out included). Measured:

- regenerate → take.wav handed out: median and worst of 5 (after one warm-up);
- list/select/notes latency while 4 regenerations are queued (median, worst);
- the peer, in the same run: the FluidSynth command-line program rendering the same
  take's MIDI (what a composer would otherwise do to hear a MIDI sketch) — its time and
  our ratio to it.

Targets (issue 7): a take in under 3 s on 2 cores; light actions under 1 s.
"""
from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    from gradio_client import Client
    from media import make_cut

    from scorer import studio
    from ui.app import launch

    print(f"machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        cut = d / "cut.mp4"
        make_cut(cut, shot_frames=(240, 200, 120, 96, 150, 153), clicks_s=(10.0, 18.3, 25.0))
        p = studio.new_project(d / "projects" / "bench", cut, seed=1)
        sheet = p.cue_sheet()
        ids = [c.id for c in sheet.cues]
        while len(ids) > 1:                                   # one cue, 0–30 s
            sheet = studio.merge_cues(sheet, ids[0], ids[1])
            ids = [c.id for c in sheet.cues]
        sheet = studio.move_cue(sheet, ids[0], start_s=0.0, end_s=30.0)
        p.save_cue_sheet(sheet)
        cue = sheet.cues[0]
        print(f"cue {cue.id}: {cue.duration_s:.2f} s, preset {cue.preset}")

        port = _free_port()
        demo = launch(str(p.folder), port=port, projects_dir=d / "projects", block=False)
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            client.predict(cue.id, api_name="/view_cue")
            times = []
            for k in range(6):
                t = time.perf_counter()
                client.predict(cue.id, 1, api_name="/regenerate")
                take = p.takes(cue.id)[-1]
                wav = client.predict(take.id, api_name="/take_audio_a")
                assert Path(wav).stat().st_size > 0
                if k:                                          # the first is the warm-up
                    times.append(time.perf_counter() - t)
            print(f"regenerate → take handed out (30 s cue): median {statistics.median(times):.2f} s, "
                  f"worst {max(times):.2f} s (target < 3 s)")

            # Light actions while 4 regenerations are queued (2 run, 2 wait).
            others = [Client(f"http://127.0.0.1:{port}/", verbose=False) for _ in range(4)]
            jobs = [c.submit(cue.id, 1, api_name="/regenerate") for c in others]
            light: dict[str, list[float]] = {"view": [], "select": [], "note": []}
            take_id = p.takes(cue.id)[-1].id
            done = threading.Event()
            threading.Thread(target=lambda: ([j.result() for j in jobs], done.set()), daemon=True).start()
            n = 0
            while not done.is_set() and n < 30:
                t = time.perf_counter()
                client.predict(cue.id, api_name="/view_cue")
                light["view"].append(time.perf_counter() - t)
                t = time.perf_counter()
                client.predict(cue.id, take_id, api_name="/select_a")
                light["select"].append(time.perf_counter() - t)
                t = time.perf_counter()
                client.predict(cue.id, "00:00:05:00", "bench", f"note {n}", api_name="/add_note")
                light["note"].append(time.perf_counter() - t)
                n += 1
            done.wait(300)
            for name, xs in light.items():
                print(f"{name:>7} while 4 regenerations queued: median {statistics.median(xs) * 1000:.0f} ms, "
                      f"worst {max(xs) * 1000:.0f} ms over {len(xs)} calls (target < 1 s)")
        finally:
            demo.close()

        fs = shutil.which("fluidsynth")
        if fs is None:
            print("fluidsynth not installed (apt-get install fluidsynth): no peer measured")
            return
        from scorer.render.soundfont import find_soundfont
        mid = studio.take_file(p, p.takes(cue.id)[-1], "take.mid")
        t = time.perf_counter()
        subprocess.run([fs, "-ni", "-q", "-F", str(d / "fs.wav"), "-r", "48000", str(find_soundfont(None)),
                        str(mid)], check=True, capture_output=True)
        fs_s = time.perf_counter() - t
        print(f"peer: fluidsynth CLI renders the same take's MIDI in {fs_s:.2f} s; a studio take "
              f"(compose + render + level + hand-out) takes {statistics.median(times) / fs_s:.2f}x that")


if __name__ == "__main__":
    main()
