"""People, not a password: a project's people with roles, each logging in to the studio by
their own name, acting by their role, and a record of who did what."""
import socket
import subprocess
import sys

import pytest

from media import make_cut
from scorer import studio
from scorer.errors import InputError
from scorer.project import Project, hash_password, password_matches

PASSWORDS = {"Dana": "director-pass-1", "Kofi": "composer-pass-1", "Vic": "viewer-pass-1"}


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    d = tmp_path_factory.mktemp("people")
    cut = d / "reel.mp4"
    make_cut(cut, shot_frames=(96, 72, 120))
    p = studio.new_project(d / "projects" / "Reel", cut, seed=2)
    for name, role in (("Dana", "director"), ("Kofi", "composer"), ("Vic", "viewer")):
        p.add_user(name, role, PASSWORDS[name])
    return p


def test_passwords_are_kept_as_scrypt_hashes():
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$16384$8$1$") and "correct horse" not in stored
    assert password_matches("correct horse", stored) and not password_matches("correct hors", stored)
    assert hash_password("correct horse") != stored                         # a salt of its own
    with pytest.raises(InputError, match="at least 8 characters"):
        hash_password("short")


def test_roles_decide_who_may_do_what_and_every_act_is_recorded(film):
    p = film
    assert p.users() == {"Dana": "director", "Kofi": "composer", "Vic": "viewer"}
    assert p.login("Dana", PASSWORDS["Dana"]) and not p.login("Dana", PASSWORDS["Kofi"]) and not p.login("Eve", "x")
    cue = p.cue_sheet().cues[0].id
    take = studio.regenerate(p, [cue], by="Kofi")[0]
    with pytest.raises(InputError, match="Vic is the viewer: to choose takes is for the"):
        p.select(cue, take.id, by="Vic")
    p.select(cue, take.id, by="Dana")                  # a spotted cue's first choice starts its sketch
    assert p.status(cue) == "sketch"
    with pytest.raises(InputError, match="Kofi is the composer: to approve a cue is for the director"):
        p.set_status(cue, "approved", by="Kofi")
    p.set_status(cue, "approved", by="Dana")
    with pytest.raises(InputError, match="Dana is the director: to lock a cue is for the composer"):
        p.set_status(cue, "locked", by="Dana")
    p.set_status(cue, "locked", by="Kofi")
    with pytest.raises(InputError, match="to leave notes is for the"):
        p.add_note(cue, "00:00:01:00", author="Vic", text="I like it", by="Vic")
    with pytest.raises(InputError, match="Eve is not one of this project's people"):
        p.add_note(cue, "00:00:01:00", author="Eve", text="hello", by="Eve")
    p.add_note(cue, "00:00:01:00", author="Dana", text="keep this", by="Dana")
    done = [(a.user, a.action, a.cue_id) for a in p.activity(cue)]
    assert done == [("Kofi", "made", cue), ("Dana", "chose", cue), ("Dana", "moved on to", cue),
                    ("Dana", "moved on to", cue), ("Kofi", "moved on to", cue), ("Dana", "noted", cue)]
    assert [a.detail for a in p.activity(cue)][1] == f"take {take.id}"


def test_the_cli_adds_people_and_lists_what_they_did(film):
    r = subprocess.run([sys.executable, "-m", "scorer.cli", "project", "user", str(film.folder), "Mo",
                        "--role", "music editor", "--password-stdin"], input="editor-pass-1\n",
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Mo is the music editor" in r.stdout, r.stderr
    assert Project.open(film.folder).login("Mo", "editor-pass-1")
    r = subprocess.run([sys.executable, "-m", "scorer.cli", "project", "activity", str(film.folder)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Dana" in r.stdout and "moved on to" in r.stdout, r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_studio_lets_each_person_in_by_name_and_acts_by_their_role(film):
    from gradio_client import Client

    from ui.app import launch

    port = _free_port()
    demo = launch(str(film.folder), port=port, projects_dir=film.folder.parent, block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception):
            Client(url, verbose=False, auth=("Dana", "wrong password"))
        cue = film.cue_sheet().cues[-1].id
        if film.status(cue) == "locked":                    # (the test before locked it)
            film.set_status(cue, "approved", back=True, by="Kofi")
            film.set_status(cue, "sketch", back=True, by="Dana")
        viewer = Client(url, verbose=False, auth=("Vic", PASSWORDS["Vic"]))
        viewer.predict(cue, api_name="/view_cue")
        with pytest.raises(Exception, match="Vic is the viewer: to make takes is for the"):
            viewer.predict(cue, 1, api_name="/regenerate")
        composer = Client(url, verbose=False, auth=("Kofi", PASSWORDS["Kofi"]))
        composer.predict(cue, api_name="/view_cue")
        composer.predict(cue, 1, api_name="/regenerate")
        director = Client(url, verbose=False, auth=("Dana", PASSWORDS["Dana"]))
        director.predict(cue, api_name="/view_cue")
        # The note is the logged-in person's, whatever name the form says.
        tc = "00:00:08:00"
        director.predict(cue, tc, "someone else", "the drums can go", api_name="/add_note")
        p = Project.open(film.folder)
        assert [n.author for n in p.notes(cue) if n.text == "the drums can go"] == ["Dana"]
        made = [a for a in p.activity(cue) if a.action == "made"]
        assert made and made[-1].user == "Kofi"
    finally:
        demo.close()
