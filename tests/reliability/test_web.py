"""Web: what the studio serves and accepts. File routes refuse traversal in every spelling
and other projects' files; an upload over the limit is refused and leaves nothing; without
--auth the studio is reachable from this machine only."""
from __future__ import annotations

import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from media import make_cut
from scorer import studio


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str, data: bytes | None = None, headers: dict | None = None) -> int:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from ui.app import launch

    d = tmp_path_factory.mktemp("web")
    cut = d / "cut.mp4"
    make_cut(cut, shot_frames=(96, 72, 120), clicks_s=(4.0,))
    projects = d / "projects"
    a = studio.new_project(projects / "A", cut, seed=1)
    b = studio.new_project(projects / "B", cut, seed=1)
    studio.regenerate(b, [b.cue_sheet().cues[0].id], takes=1)
    port = _free_port()
    demo = launch(str(a.folder), port=port, projects_dir=projects, block=False, max_upload="200kb")
    yield f"http://127.0.0.1:{port}/", a, b, demo
    demo.close()


def test_file_routes_refuse_traversal_absolute_encoded_and_other_projects(server):
    url, a, b, _ = server
    take = b.takes()[0]
    other = str(b.take_dir(take.id, take.cue_id) / "take.wav")
    targets = ["../../../../etc/passwd", "/etc/passwd", str(a.db_path), other,
               "..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "%252e%252e%252fetc%252fpasswd",
               "....//....//etc/passwd", str(a.folder / "media" / ".." / "project.db")]
    for route in ("gradio_api/file=", "file=", "gradio_api/file/"):
        for t in targets:
            path = t if "%" in t else urllib.parse.quote(t)
            assert _status(url + route + path) in (400, 403, 404), (route, t)


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(server, tmp_path):
    import tempfile

    url, _, _, demo = server
    upload_dir = Path(demo.GRADIO_CACHE) if hasattr(demo, "GRADIO_CACHE") else Path(tempfile.gettempdir()) / "gradio"
    before = {p for p in upload_dir.rglob("*")} if upload_dir.exists() else set()
    boundary = "scorerboundary"
    big = b"\0" * 600_000
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.mp4\"\r\n"
            f"Content-Type: video/mp4\r\n\r\n").encode() + big + f"\r\n--{boundary}--\r\n".encode()
    status = _status(url + "gradio_api/upload", data=body,
                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status in (400, 413), status
    after = {p for p in upload_dir.rglob("*")} if upload_dir.exists() else set()
    assert not [p for p in after - before if p.is_file() and p.stat().st_size > 0 and "big" in p.name]
    # A small one is accepted (the limit is the limit, not a broken route).
    small = body.replace(big, b"\0" * 1000)
    assert _status(url + "gradio_api/upload", data=small,
                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}) == 200


def test_without_auth_it_listens_on_loopback_only(server):
    url, _, _, demo = server
    assert demo.server_name == "127.0.0.1" and demo.share_url is None
    port = int(url.rsplit(":", 1)[1].strip("/"))
    try:
        outside = {ip for ip in socket.gethostbyname_ex(socket.gethostname())[2] if not ip.startswith("127.")}
    except OSError:
        outside = set()
    for ip in outside:                           # the machine's other addresses: nothing listens
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((ip, port)) != 0, ip
