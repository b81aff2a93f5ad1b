"""The review player: the cut playing with the picked cue's takes A and B in sync, a
playhead on the timeline, seeking by clicking the timeline, and an editor's keys.

It is one gr.HTML whose markup never changes (so the video is never rebuilt while it
plays). What it plays comes from the server as JSON in a hidden textbox
(#review-config, written by review_config()): the cut's URL, its frame rate and start
timecode, the cues, and take A and B (URL and where on the timeline each starts). What it
asks of the server goes back through its own value and a "change" event:
{"pick": cue id} when a cue is clicked on the timeline or reached with [ ], {"reissue": …}
when a file's link stopped working (the server hands the files out again).

Both takes play along with the picture, the one not heard muted, so A/B switches at the
same position without a gap. Keys (not while typing in a field): space play/stop, J K L
back / stop / forward (pressed again: faster), ←/→ one frame, [ ] the previous / next cue,
A and B the take heard.
"""
from __future__ import annotations

import json

PLAYER_TEMPLATE = """
<div class="scorer-review">
  <video class="rv-video" preload="auto" playsinline></video>
  <audio class="rv-take" data-take="A" preload="auto"></audio>
  <audio class="rv-take" data-take="B" preload="auto"></audio>
  <div class="rv-bar">
    <button type="button" class="rv-play" title="space">▶ Play</button>
    <button type="button" class="rv-ab" title="A / B">hearing take A</button>
    <span class="rv-tc">--:--:--:--</span>
    <span class="rv-cue"></span>
    <button type="button" class="rv-note" title="puts the playhead's timecode in the Notes tab">note here</button>
    <label class="rv-level-box">music <input class="rv-level" type="range" min="-30" max="6" step="1" value="-8">
      <span class="rv-level-db">-8</span> dB</label>
  </div>
  <div class="rv-msg" role="status"></div>
  <div class="rv-keys">Space play / stop · J K L back, stop, forward · ← → one frame · [ ] previous / next cue ·
    A B the take you hear · click or drag on the timeline to move the playhead, click a cue to pick it</div>
</div>
"""

PLAYER_CSS = """
.scorer-review { display: flex; flex-direction: column; gap: 6px; }
.scorer-review video { width: 100%; max-height: 52vh; background: #000; border-radius: 4px; }
.scorer-review .rv-bar { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; font-size: 15px; }
.scorer-review button { padding: 4px 12px; border-radius: 4px; border: 1px solid #888; cursor: pointer; }
.scorer-review .rv-tc { font-family: monospace; font-size: 17px; }
.scorer-review .rv-keys { font-size: 13px; opacity: 0.8; }
.scorer-review .rv-msg { font-size: 14px; color: #d55e00; min-height: 1em; }
"""

PLAYER_JS = r"""
const $ = (s) => element.querySelector(s);
const video = $('.rv-video');
const takes = {A: element.querySelector('audio[data-take=A]'), B: element.querySelector('audio[data-take=B]')};
const playBtn = $('.rv-play'), abBtn = $('.rv-ab'), tcBox = $('.rv-tc'), cueBox = $('.rv-cue');
const level = $('.rv-level'), levelDb = $('.rv-level-db'), msg = $('.rv-msg');
let cfg = null, cfgText = '', heard = 'A', reverse = 0, lastTs = null, dragging = false, lastAsk = 0;
window.scorerReview = { state: () => ({ t: video.currentTime, paused: video.paused, reverse, heard,
                                         rate: video.playbackRate, cue: cfg && cfg.cue,
                                         a: cfg && cfg.a && cfg.a.take, b: cfg && cfg.b && cfg.b.take,
                                         muted: {A: takes.A.muted, B: takes.B.muted},
                                         playing: {A: !takes.A.paused, B: !takes.B.paused}}) };

function ask(what) { props.value = JSON.stringify({...what, n: Date.now() + Math.random()}); trigger('change'); }
function setSrc(el, url) {
  if ((el.dataset.url || '') === (url || '')) return;
  el.dataset.url = url || '';
  if (url) { el.src = url; } else { el.removeAttribute('src'); el.load(); }
}
function readConfig() {
  const holder = document.querySelector('#review-config');
  if (holder && holder.style.display !== 'none') holder.style.display = 'none';   // the page's plumbing
  const box = document.querySelector('#review-config textarea, #review-config input');
  if (!box || box.value === cfgText) return;
  cfgText = box.value;
  if (!cfgText) { cfg = null; return; }
  try { cfg = JSON.parse(cfgText); } catch (e) { return; }
  setSrc(video, cfg.cut);
  setSrc(takes.A, cfg.a && cfg.a.url);
  setSrc(takes.B, cfg.b && cfg.b.url);
  if (!(cfg.b) && heard === 'B') heard = 'A';
  msg.textContent = '';
}
function onFail(what) {
  return () => {
    if (!cfg || !(what.dataset.url)) return;
    // A link handed out long ago may have been retired: ask for the files again (once a few seconds).
    if (Date.now() - lastAsk > 4000) { lastAsk = Date.now(); ask({reissue: true}); }
    msg.textContent = what === video
      ? 'The browser cannot play this cut (its codec or container); the takes and the exported preview still play.'
      : 'A take did not load; asking the studio for it again.';
  };
}
video.addEventListener('error', onFail(video));
takes.A.addEventListener('error', onFail(takes.A));
takes.B.addEventListener('error', onFail(takes.B));

// Timecode of a time into the cut, as the cue sheet prints it (drop-frame at 29.97 / 59.94).
function timecode(t) {
  if (!cfg) return '';
  const fps = cfg.fps, nominal = Math.round(fps), drop = cfg.drop_frame;
  let frame = Math.floor(t * fps + 1e-6) + cfg.start_frame;
  if (drop) {
    const d = nominal === 60 ? 4 : 2, per10 = nominal * 600 - 9 * d, per1 = nominal * 60 - d;
    const tens = Math.floor(frame / per10), rest = frame % per10;
    frame += 9 * d * tens + (rest >= d ? d * Math.floor((rest - d) / per1) : 0);
  }
  const ff = frame % nominal, s = Math.floor(frame / nominal) % 60, m = Math.floor(frame / (nominal * 60)) % 60,
        h = Math.floor(frame / (nominal * 3600)) % 24, p = (x) => String(x).padStart(2, '0');
  return `${p(h)}:${p(m)}:${p(s)}${drop ? ';' : ':'}${p(ff)}`;
}
function cueAt(t) { return cfg ? cfg.cues.find((c) => c[1] <= t && t < c[2]) : null; }
function svg() { return document.querySelector('#timeline svg'); }
function xOf(t, s) {
  const w = s.viewBox.baseVal.width, pad = cfg.pad_x;
  return pad + (w - 2 * pad) * Math.min(Math.max(t / cfg.duration_s, 0), 1);
}
function tOf(ev, s) {
  const r = s.getBoundingClientRect(), w = s.viewBox.baseVal.width, pad = cfg.pad_x;
  const x = (ev.clientX - r.left) / r.width * w;
  return Math.min(Math.max((x - pad) / (w - 2 * pad), 0), 1) * cfg.duration_s;
}
function drawPlayhead(t) {
  const s = svg();
  if (!s || !cfg) return;
  let line = s.querySelector('line.rv-playhead');
  if (!line) {
    line = document.createElementNS('http://www.w3.org/2000/svg', 'line');
    line.setAttribute('class', 'rv-playhead');
    line.setAttribute('stroke', '#fff'); line.setAttribute('stroke-width', '2');
    line.setAttribute('y1', '0'); line.setAttribute('y2', String(s.viewBox.baseVal.height));
    line.style.pointerEvents = 'none';
    s.appendChild(line);
  }
  const x = xOf(t, s).toFixed(1);
  line.setAttribute('x1', x); line.setAttribute('x2', x);
  line.setAttribute('data-t', t.toFixed(3));
}
function seek(t) {
  if (!cfg) return;
  video.currentTime = Math.min(Math.max(t, 0), Math.max(cfg.duration_s - 1e-3, 0));
}
function gain() { return Math.pow(10, Number(level.value) / 20); }
function play(rate) { reverse = 0; video.playbackRate = rate; video.play().catch(() => {}); }
function stop() { reverse = 0; video.pause(); video.playbackRate = 1; }

function tick(ts) {
  readConfig();
  if (cfg) {
    if (reverse && lastTs !== null) seek(video.currentTime - reverse * (ts - lastTs) / 1000);
    const t = video.currentTime, rolling = !video.paused && !reverse;
    for (const k of ['A', 'B']) {
      const el = takes[k], take = cfg[k.toLowerCase()];
      el.muted = k !== heard;
      el.volume = Math.min(gain(), 1);
      if (!take || !el.dataset.url) { if (!el.paused) el.pause(); continue; }
      const local = t - take.start_s, inside = local >= 0 && local < (el.duration || Infinity);
      if (rolling && inside) {
        if (el.paused) { el.currentTime = local; el.play().catch(() => {}); }
        else if (Math.abs(el.currentTime - local) > 0.08) el.currentTime = local;
        if (el.playbackRate !== video.playbackRate) el.playbackRate = video.playbackRate;
      } else {
        if (!el.paused) el.pause();
        if (inside && Math.abs(el.currentTime - local) > 0.04) el.currentTime = local;
      }
    }
    drawPlayhead(t);
    tcBox.textContent = timecode(t);
    const c = cueAt(t);
    cueBox.textContent = c ? `in ${c[0]}` : 'no cue here';
    playBtn.textContent = rolling || reverse ? '❚❚ Stop' : '▶ Play';
    abBtn.textContent = `hearing take ${heard}` + (cfg[heard.toLowerCase()] ? ` (take ${cfg[heard.toLowerCase()].take})` : ' (none)');
  }
  lastTs = ts;
  requestAnimationFrame(tick);
}
requestAnimationFrame(tick);

playBtn.addEventListener('click', () => { (video.paused && !reverse) ? play(1) : stop(); });
abBtn.addEventListener('click', () => { heard = heard === 'A' ? 'B' : 'A'; });
level.addEventListener('input', () => { levelDb.textContent = level.value; });
$('.rv-note').addEventListener('click', () => {
  if (!cfg) return;
  stop();
  const tc = timecode(video.currentTime);
  // The Notes tab's fields exist once the tab has been shown: show it, then fill its timecode.
  const tab = [...document.querySelectorAll('button[role=tab]')].find((b) => b.textContent.trim() === 'Notes');
  if (tab) tab.click();
  let tries = 0;
  const fill = () => {
    const box = document.querySelector('#note-tc textarea, #note-tc input');
    if (!box) { if (++tries < 40) setTimeout(fill, 50); return; }
    box.value = tc;
    box.dispatchEvent(new Event('input', {bubbles: true}));
    box.focus();
  };
  fill();
});

// The timeline is drawn again whenever the project changes: listen on the document.
document.addEventListener('pointerdown', (ev) => {
  const s = ev.target.closest && ev.target.closest('#timeline svg');
  if (!s || !cfg) return;
  dragging = true;
  seek(tOf(ev, s));
  const cue = ev.target.closest('g.cue');
  if (cue && cue.dataset.cue && cue.dataset.cue !== cfg.cue) ask({pick: cue.dataset.cue});
});
document.addEventListener('pointermove', (ev) => {
  const s = svg();
  if (dragging && s && cfg) seek(tOf(ev, s));
});
document.addEventListener('pointerup', () => { dragging = false; });

document.addEventListener('keydown', (ev) => {
  const tag = (ev.target && ev.target.tagName) || '';
  if (!cfg || ev.ctrlKey || ev.metaKey || ev.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(tag)
      || (ev.target && ev.target.isContentEditable)) return;
  const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
  const frame = 1 / cfg.fps;
  const cues = cfg.cues, t = video.currentTime;
  if (key === ' ') { (video.paused && !reverse) ? play(1) : stop(); }
  else if (key === 'k') stop();
  else if (key === 'l') { reverse ? play(1) : play(video.paused ? 1 : Math.min(video.playbackRate * 2, 4)); }
  else if (key === 'j') { video.pause(); reverse = reverse ? Math.min(reverse * 2, 4) : 1; }
  else if (key === 'ArrowLeft' || key === 'ArrowRight') {
    stop();
    seek(Math.floor(t * cfg.fps + 1e-6) / cfg.fps + (key === 'ArrowRight' ? frame : -frame) + frame / 2);
  }
  else if (key === '[' || key === ']') {
    const i = cues.findIndex((c) => c[1] <= t + 1e-6 && t < c[2]);
    let j;
    if (key === ']') j = cues.findIndex((c) => c[1] > t + 1e-6);
    else { const before = cues.filter((c) => c[1] < t - 0.25); j = before.length ? cues.indexOf(before[before.length - 1]) : (i >= 0 ? i : 0); }
    if (j >= 0 && j < cues.length) { seek(cues[j][1]); if (cues[j][0] !== cfg.cue) ask({pick: cues[j][0]}); }
  }
  else if (key === 'a') heard = 'A';
  else if (key === 'b') { if (cfg.b) heard = 'B'; }
  else return;
  ev.preventDefault();
});
"""


def review_config(p, cue_id: str | None, take_a: int | None, take_b: int | None, *, serve, cut_url: str,
                  pad_x: float) -> str:
    """What the player plays, as JSON: the cut (cut_url), its frame rate, start frame and
    length, the cues, the picked cue, and takes A and B (their audio served by `serve`,
    where each starts on the timeline). Takes that are not the cue's, or not done, are
    left out."""
    from scorer import studio
    from scorer.io.takes import read_take_info
    from scorer.timebase import is_drop_frame_rate

    sheet = p.cue_sheet()
    src = sheet.source

    def take(take_id):
        if take_id is None:
            return None
        t = p.take(int(take_id))
        if t.status != "done" or t.cue_id != cue_id:
            return None
        info = read_take_info(studio.take_file(p, t, "take.json"))
        return {"take": t.id, "url": serve(studio.take_file(p, t, "take.wav")), "start_s": info["start_s"]}

    return json.dumps({
        "cut": cut_url, "fps": float(src.fps), "drop_frame": bool(is_drop_frame_rate(src.fps)),
        "start_frame": int(src.start_frame), "duration_s": float(src.duration_s), "pad_x": pad_x,
        "cues": [[c.id, c.start_s, c.end_s] for c in sheet.cues], "cue": cue_id,
        "a": take(take_a), "b": take(take_b)})


def file_url(path) -> str:
    """The URL Gradio serves a handed-out file at."""
    from urllib.parse import quote

    return "/gradio_api/file=" + quote(str(path))
