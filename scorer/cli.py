"""The `scorer` command."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scorer.config import login_name
from scorer.errors import InputError, ScorerError

STAGE_NAMES = {"video": "decode+picture", "audio": "production audio", "render": "render stems",
               "mix": "mix", "deliver": "deliver", "compose": "compose", "preview": "preview"}


class Progress:
    """Turns progress(stage, done, total) calls into one tqdm bar per stage (on stderr)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bars: dict = {}

    def __call__(self, stage: str, done: float, total: float) -> None:
        # Sound analysis runs beside picture decoding, inside the time the picture's bar shows.
        if not self.enabled or stage == "audio":
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=f"{STAGE_NAMES.get(stage, stage):>16}",
                                          unit="", leave=True, file=sys.stderr,
                                          bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}")
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scorer", description="Temp-score a film cut.")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="analyse a cut and write its cue sheet (cues.json)")
    a.add_argument("cut", help="the cut: a video file (.mp4, .mov, …)")
    a.add_argument("-o", "--output", default="cues.json", help="cue sheet to write")
    a.add_argument("--preset", default=argparse.SUPPRESS,
                   help="use this preset for every cue: a shipped name, or your own .toml file")
    _spotting_inputs(a)
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    s = sub.add_parser("score", help="analyse, spot, compose, render, mix and deliver")
    s.add_argument("cut", help="the cut: a video file (.mp4, .mov, …)")
    s.add_argument("-o", "--output", required=True, help="output folder")
    s.add_argument("--cues", help="score this (edited) cues.json instead of analysing again")
    _spotting_inputs(s)
    _compose_options(s)
    _render_options(s)
    _mix_options(s)
    _delivery_options(s)
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    sub.add_parser("presets", help="list the mood presets")

    pr = sub.add_parser("project", help="a project: every take of every cue, selections, notes, export")
    psub = pr.add_subparsers(dest="action", required=True)
    n = psub.add_parser("new", help="analyse a cut and create a project folder for it; the project keeps "
                                     "these settings for its takes and exports")
    n.add_argument("folder")
    n.add_argument("cut")
    _spotting_inputs(n)
    _compose_options(n)
    _render_options(n)
    _mix_options(n)
    _delivery_options(n)
    sc = psub.add_parser("score", help="new takes of cues (default: every cue not approved or locked)")
    sc.add_argument("folder")
    sc.add_argument("--cue", action="append", help="this cue (repeatable); named cues must not be approved/locked")
    sc.add_argument("--takes", type=int, default=1, help="takes per cue, each with a new seed (default 1)")
    sc.add_argument("--seed", type=int, action="append", help="seeds to use instead of new ones")
    tk = psub.add_parser("takes", help="list the takes (and cue status, selection, notes)")
    tk.add_argument("folder")
    tk.add_argument("--cue")
    se = psub.add_parser("select", help="choose a take for its cue")
    se.add_argument("folder")
    se.add_argument("take", type=int)
    st = psub.add_parser("status", help="move a cue to sketch/approved/locked (or --back one step)")
    st.add_argument("folder")
    st.add_argument("cue")
    st.add_argument("status", choices=("spotted", "sketch", "approved", "locked"))
    st.add_argument("--back", action="store_true")
    no = psub.add_parser("note", help="pin a note to a cue at a timecode")
    no.add_argument("folder")
    no.add_argument("cue")
    no.add_argument("timecode")
    no.add_argument("text")
    no.add_argument("--author", default=login_name())
    us = psub.add_parser("user", help="add a person to the project (or change their role or password): "
                                      "the studio then asks them to log in and lets each act by their role")
    us.add_argument("folder")
    us.add_argument("name")
    us.add_argument("--role", required=True, choices=("director", "composer", "music editor", "sound designer",
                                                      "viewer"))
    us.add_argument("--password-stdin", action="store_true",
                    help="read the password from standard input (default: ask for it)")
    ac = psub.add_parser("activity", help="who did what: takes made, chosen, statuses, notes")
    ac.add_argument("folder")
    ac.add_argument("--cue")
    ex = psub.add_parser("export", help="deliver the chosen takes (stems, mix, MIDI, …) as a zip")
    ex.add_argument("folder")
    ex.add_argument("-o", "--output", help="zip to write (default: exports/<time>.zip in the project)")
    _render_options(ex, export=True)
    _mix_options(ex)
    _delivery_options(ex)
    for q in (n, sc, tk, se, st, no, us, ac, ex):
        q.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    b = sub.add_parser("batch", help="many cuts on Ray: a project per cut, its takes, and an export")
    b.add_argument("cuts", nargs="+", help="the cuts: video files")
    b.add_argument("-o", "--output", required=True, help="folder for the projects (one per cut, by its name)")
    b.add_argument("--takes", type=int, default=1,
                   help="takes per cue, up to 100 (default 1); the first has the project's seed and is selected")
    _compose_options(b, seed_help="seed of new projects; take seeds derive from it")
    _render_options(b, batch=True)
    _mix_options(b)
    _delivery_options(b)
    b.add_argument("--actors", type=int, help="neural model actors (default: one per GPU in the cluster, or one)")
    b.add_argument("--ray-address", help="a Ray cluster to use (default: a local instance on this machine)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")

    u = sub.add_parser("ui", help="the studio: a web app on this machine for the director and the composer")
    u.add_argument("project", nargs="?", help="a project folder to open (or create from an uploaded cut)")
    u.add_argument("--port", type=int, default=7860)
    u.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    u.add_argument("--auth", help="USER:PASS required to log in")
    u.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    u.add_argument("--projects", default="projects", help="folder new projects are created in (default ./projects)")
    return p


def _project_command(args, progress) -> None:
    from scorer import studio
    from scorer.project import Project

    if args.action == "new":
        from scorer.settings import ScoreSettings

        base = ScoreSettings()
        p = studio.new_project(args.folder, args.cut, base.with_(**_settings(args, base)), progress=progress)
        progress.close()
        cues = p.cue_sheet().cues
        print(f"project {args.folder}: {len(cues)} cues ({', '.join(c.id for c in cues)})")
        return
    p = Project.open(args.folder)
    if args.action == "score":
        ids = args.cue or [c.id for c in p.cue_sheet().cues]
        takes = studio.regenerate(p, ids, takes=args.takes, seeds=args.seed, bulk=not args.cue, progress=progress)
        progress.close()
        for t in takes:
            print(f"take {t.id}: cue {t.cue_id}, seed {t.params['seed']}")
        skipped = sorted(set(ids) - {t.cue_id for t in takes})
        if skipped:
            print(f"not regenerated (approved or locked): {', '.join(skipped)}")
    elif args.action == "takes":
        for cue in p.cue_sheet().cues:
            if args.cue and cue.id != args.cue:
                continue
            sel = p.selected(cue.id)
            print(f"{cue.id:6} {p.status(cue.id):9} {cue.preset}")
            for t in p.takes(cue.id):
                mark = "*" if sel is not None and sel.id == t.id else " "
                changed = ", ".join(f"{k}={v}" for k, v in sorted(t.params.items()) if v is not None and k != "seed")
                print(f"   {mark} take {t.id:<4} {t.status:7} seed {t.params.get('seed')} {changed} {t.created_at}")
            for note in p.notes(cue.id):
                print(f"     note {note.timecode} {note.author}: {note.text}")
    elif args.action == "select":
        take = p.take(args.take)
        p.select(take.cue_id, take.id)
        print(f"cue {take.cue_id}: take {take.id} selected")
    elif args.action == "status":
        p.set_status(args.cue, args.status, back=args.back)
        print(f"cue {args.cue}: {args.status}")
    elif args.action == "note":
        note = p.add_note(args.cue, args.timecode, author=args.author, text=args.text)
        print(f"note {note.id} on {note.cue_id} at {note.timecode}")
    elif args.action == "user":
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            import getpass
            password = getpass.getpass(f"password for {args.name}: ")
        p.add_user(args.name, args.role, password)
        print(f"{args.name} is the {args.role} of {p.folder.name}")
    elif args.action == "activity":
        for a in p.activity(args.cue):
            print(f"{a.at}  {a.user or '(owner)':16} {a.action} {a.cue_id or ''} {a.detail}")
    elif args.action == "export":
        z = studio.export(p, args.output, progress=progress, **_settings(args, studio.project_settings(p)))
        progress.close()
        print(f"exported {z}")


# The options that make a ScoreSettings, shared by every command that scores. Their
# defaults are suppressed: `_settings` applies only what was given over the base (the
# defaults for a new score or project, the project's own settings for an export).

def _spotting_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeline", default=argparse.SUPPRESS,
                   help="the editor's EDL (CMX 3600), .otio, .fcpxml or FCP .xml: "
                        "its cuts replace detected ones, its markers become hits")
    p.add_argument("--notes", default=argparse.SUPPRESS,
                   help="director's notes: lines of 'IN [OUT] text' (timecode or "
                        "seconds), e.g. '00:01:10:00 tense, building to the reveal'")


def _compose_options(p: argparse.ArgumentParser, *, seed_help: str = "composition seed (same seed, same music)") -> None:
    p.add_argument("--seed", type=int, default=argparse.SUPPRESS, help=f"{seed_help} (default 0)")
    p.add_argument("--preset", default=argparse.SUPPRESS,
                   help="use this preset for every cue: a shipped name (scorer presets), or your own .toml file")
    p.add_argument("--theme", default=argparse.SUPPRESS,
                   help="your theme: a MIDI file, or a recording of it hummed or played "
                        "(.wav/.flac/…; needs the theme-audio extra)")
    p.add_argument("--motif", action="append", default=argparse.SUPPRESS, metavar="NAME=FILE",
                   help="another motif (a character's theme, a threat) from a MIDI file or recording; "
                        "repeatable; cues develop it where --cue-motif says")
    p.add_argument("--cue-motif", action="append", default=argparse.SUPPRESS, metavar="CUE=NAME",
                   help="which motif a cue develops: 'theme', a --motif NAME, or any other name "
                        "(a motif generated from the seed and the name); repeatable")


def _render_options(p: argparse.ArgumentParser, *, export: bool = False, batch: bool = False) -> None:
    from scorer.render import available_backends
    from scorer.settings import NEURAL

    backends = sorted(available_backends())
    if not export:
        music = [b for b in backends if b != "audiogen"]
        p.add_argument("--backend", default=argparse.SUPPRESS, choices=music,
                       help="render backend (default soundfont); musicgen is neural: see README for weights"
                            + ("; it runs in Ray actors that load the model once, on GPU nodes when the "
                               "cluster has them" if batch else ""))
        if not batch:
            p.add_argument("--cue-backend", action="append", default=argparse.SUPPRESS, metavar="CUE=BACKEND",
                           help=f"render this cue with another backend ({', '.join(music)}), e.g. 1M3=musicgen "
                                "(repeatable)")
        p.add_argument("--ambience-backend", choices=("procedural", "audiogen"), default=argparse.SUPPRESS,
                       help="ambience beds: procedural (default, offline) or audiogen (neural)")
    p.add_argument("--no-ambience", action="store_true", default=argparse.SUPPRESS, help="no ambience stem")
    p.add_argument("--soundfont", default=argparse.SUPPRESS, help="a .sf2/.sf3 General MIDI SoundFont to render with")
    whose = "for cues generated again" if export else f"for the neural backends ({', '.join(NEURAL)})"
    p.add_argument("--model", default=argparse.SUPPRESS,
                   help=f"the neural model {whose} (default: the backend's, e.g. facebook/musicgen-melody)")
    p.add_argument("--model-path", default=argparse.SUPPRESS,
                   help="neural weights: a checkpoint folder (or set SCORER_MODEL_PATH)")
    p.add_argument("--device", choices=("cpu", "cuda", "mps"), default=argparse.SUPPRESS,
                   help="neural backends' device (default: best)")
    p.add_argument("--prompt", default=argparse.SUPPRESS,
                   help="your words for the neural backends, added to each preset's prompt")


def _mix_options(p: argparse.ArgumentParser) -> None:
    from scorer.mix.loudness import SPECS

    p.add_argument("--spec", choices=sorted(SPECS), default=argparse.SUPPRESS,
                   help="loudness spec (default ebu: -23 LUFS; " + ", ".join(
                       f"{k} {v.integrated_lufs:g}" for k, v in sorted(SPECS.items()) if k != "ebu") + ")")
    p.add_argument("--under-dialogue-db", type=float, default=argparse.SUPPRESS,
                   help="how far under each line of dialogue the music sits, in dB, measured against the "
                        "line's own level (default 12; 10–15 counts as right)")
    p.add_argument("--duck-db", type=float, default=argparse.SUPPRESS,
                   help="the deepest the music may dip under a line to get there, in dB (default −30; "
                        "0: never dips)")
    p.add_argument("--duck-attack-ms", type=float, default=argparse.SUPPRESS,
                   help="the dip's fade down (default 500)")
    p.add_argument("--duck-release-ms", type=float, default=argparse.SUPPRESS,
                   help="the dip's fade back up after the line (default 500)")
    p.add_argument("--duck-lookahead-ms", type=float, default=argparse.SUPPRESS,
                   help="the music is at the line's level this long before the line starts (default 250)")
    p.add_argument("--crossfade-ms", type=float, default=argparse.SUPPRESS,
                   help="how long a cue's tail may sound under the next cue (default 750)")


def _delivery_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", default=argparse.SUPPRESS,
                   help="the name stems are filed under (default: the cut's file name)")
    p.add_argument("--per-cue-stems", action="store_true", default=argparse.SUPPRESS,
                   help="also write each cue's stems on their own, stamped with the cue's timecode")
    p.add_argument("--click", action="store_true", default=argparse.SUPPRESS,
                   help="also write a click track with a count-in before each cue")
    p.add_argument("--burn-in", action="store_true", default=argparse.SUPPRESS,
                   help="timecode and cue names over the preview's picture")
    p.add_argument("--no-preview", action="store_true", default=argparse.SUPPRESS, help="skip preview.mp4")


def _settings(args, base):
    """The ScoreSettings fields the options given change, over `base` (a ScoreSettings):
    a dict for ScoreSettings.with_ (and studio.export)."""
    from dataclasses import replace

    given = vars(args)
    changes: dict = {}
    for name in ("timeline", "notes", "seed", "preset", "theme", "backend", "soundfont", "spec", "project",
                 "model", "model_path", "device", "prompt"):
        if name in given:
            changes[name] = given[name]
    if "motif" in given:
        changes["motifs"] = _pairs(given["motif"], "--motif", "NAME=FILE")
    if "cue_motif" in given:
        changes["cue_motifs"] = _pairs(given["cue_motif"], "--cue-motif", "CUE=NAME")
    if "cue_backend" in given:
        changes["backend_by_cue"] = _pairs(given["cue_backend"], "--cue-backend", "CUE=BACKEND")
    if "ambience_backend" in given:
        changes["ambience"] = given["ambience_backend"]
    if given.get("no_ambience"):
        if changes.get("ambience") == "audiogen":
            raise InputError("--no-ambience and --ambience-backend audiogen ask for opposite things")
        changes["ambience"] = "none"
    for flag in ("per_cue_stems", "click", "burn_in"):
        if given.get(flag):
            changes[flag] = True
    if given.get("no_preview"):
        changes["preview"] = False
    if "crossfade_ms" in given:
        changes["crossfade_s"] = given["crossfade_ms"] / 1000
    duck = {}
    if "under_dialogue_db" in given:
        under = given["under_dialogue_db"]
        duck.update(under_db=under, band_db=(min(10.0, under), max(15.0, under)))
    for option, name in (("duck_db", "max_depth_db"), ("duck_attack_ms", "attack_s"),
                         ("duck_release_ms", "release_s"), ("duck_lookahead_ms", "lookahead_s")):
        if option in given:
            duck[name] = given[option] / 1000 if option.endswith("_ms") else given[option]
    if duck:
        changes["ducking"] = replace(base.ducking, **duck)
    return changes


def _pairs(items: list[str], option: str, form: str) -> dict[str, str]:
    """KEY=VALUE options as a dict, refusing anything else before any work starts."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"{option} wants {form}, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    progress = Progress(enabled=not getattr(args, "quiet", False))
    try:
        from scorer.config import current
        current()           # the SCORER_* environment, read and checked once, before any work
        if args.command == "analyze":
            from scorer.io.files import write_json
            from scorer.pipeline import analyze_and_spot

            from scorer.settings import ScoreSettings

            base = ScoreSettings()
            sheet = analyze_and_spot(args.cut, base.with_(**_settings(args, base)), progress=progress)
            write_json(args.output, sheet.to_dict())
            progress.close()
            print(f"{len(sheet.cues)} cues, {len(sheet.shots)} shots, "
                  f"{len(sheet.dialogue)} dialogue spans → {args.output}")
        elif args.command == "score":
            from scorer.pipeline import score
            from scorer.settings import ScoreSettings

            base = ScoreSettings()
            report = score(args.cut, args.output, base.with_(**_settings(args, base)), cues=args.cues,
                           progress=progress)
            progress.close()
            _summary(report, Path(args.output))
        elif args.command == "project":
            _project_command(args, progress)
        elif args.command == "batch":
            from scorer.batch import run
            from scorer.settings import ScoreSettings

            if args.actors is not None and args.actors < 1:
                raise InputError(f"--actors must be ≥ 1, got {args.actors}")
            base = ScoreSettings()
            settings = base.with_(**_settings(args, base))
            neural = sorted(settings.neural.as_options())
            if neural and settings.backend == "soundfont" and settings.ambience != "audiogen":
                raise InputError(f"--{neural[0].replace('_', '-')} is for a neural --backend (musicgen)")
            runs = run(args.cuts, args.output, settings, takes=args.takes, actors=args.actors,
                       ray_address=args.ray_address, quiet=args.quiet)
            if any(r.error for r in runs):
                return 1
        elif args.command == "ui":
            from ui.app import launch
            launch(args.project, host=args.host, port=args.port, auth=args.auth, share=args.share,
                   projects_dir=args.projects)
        elif args.command == "presets":
            from scorer.music.presets import load_presets

            for name, preset in sorted(load_presets().items()):
                print(f"{name:16} {getattr(preset, 'description', '')}")
    except ScorerError as exc:
        progress.close()
        print(f"scorer: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # A full disk, a file size limit, a folder we may not write: say which file and
        # why. Every output is written to a temporary name and renamed when complete, so
        # what was there before is still there.
        progress.close()
        where = exc.filename or "a file"
        # (numpy reports a short write without errno: say what it almost always means.)
        why = exc.strerror or (f"the write was cut short ({exc}): is the disk full?" if "written" in str(exc)
                               else str(exc))
        print(f"scorer: error: cannot write or read {where}: {why}; earlier files are unchanged",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        progress.close()
        print("scorer: interrupted", file=sys.stderr)
        return 130
    return 0


def _summary(report: dict, out: Path) -> None:
    hs = report["hits_summary"]
    loud = report["loudness"]
    folder = report["files"].get("folder")
    version = report["files"]["version"]
    kept = "; earlier versions kept beside it" if version > 1 else ""
    print(f"TEMP SCORE written to {out}/" + (f" (version {version:02d}: {out.parent / folder}/{kept})" if folder else ""))
    for cue in report["cues"]:
        tempi = sorted({round(s["tempo_bpm"], 1) for s in cue["tempo_map"]["segments"]})
        print(f"  {cue['id']:5} {cue['preset']:14} {cue['key']:10} {tempi[0]:g}"
              f"{'' if len(tempi) == 1 else '-' + format(tempi[-1], 'g')} BPM"
              + ("" if cue.get("motif", "theme") == "theme" else f"  motif {cue['motif']}"))
        played = {k: v for k, v in cue.get("idioms", {}).items() if k in ("bass", "ostinato", "pad", "pulse")}
        if played:
            print("        " + ", ".join(f"{k} {v}" for k, v in played.items()))
        for h in cue.get("unhonoured_hits", []):
            print(f"        hit {h['timecode']} not on a beat: {h['reason']}")
    print(f"  hits scored: {hs['scored']}, max onset error {hs['max_onset_error_ms']} ms")
    print(f"  programme {loud['programme_lufs']} LUFS / {loud['programme_true_peak_dbtp']} dBTP "
          f"(spec {loud['spec']}); music {loud['music_lufs']} LUFS")
    pv = report.get("preview")
    if pv:
        print(f"  preview.mp4 decoded: {pv['integrated_lufs']} LUFS / {pv['true_peak_dbtp']} dBTP"
              + ("" if pv["meets_ceiling"] else f"  OVER the {pv['ceiling_dbtp']} dBTP ceiling"))
    lines = [d for d in report.get("dialogue", []) if d.get("music_under_dialogue_db") is not None]
    if lines:
        under = [d["music_under_dialogue_db"] for d in lines]
        missed = [d for d in lines if not d["within_target"]]
        print(f"  music under {len(lines)} lines of dialogue: {min(under):g}–{max(under):g} dB"
              + (f"; {len(missed)} outside the band (report.json says why)" if missed else ""))
    print(f"  {report['timings_s']['total']:.1f} s, {report['realtime_factor']}× real time")


if __name__ == "__main__":
    sys.exit(main())
