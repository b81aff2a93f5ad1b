"""Hard cuts — and flashes, which are not cuts — from per-frame change arrays.

Arrays in, frame indices out; nothing here opens a file. The input is the `change` array
of `scorer.analyze.picture` (frame k against frame k − lag, seen four ways). Dissolves and
fades are a separate detector still to come: it belongs beside `find_cuts()` (same input,
longer lags), and its boundaries go into `shots_from_boundaries()` with their kind, which
`Shot.transition_in` already has room for.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from scorer.analyze.picture import CHANGE_VIEWS, MAX_LAG
from scorer.errors import InputError
from scorer.timebase import frames_covering
from scorer.types import Shot


@dataclass(frozen=True)
class CutParams:
    """Tuning of the hard-cut detector. Per-view numbers follow CHANGE_VIEWS
    (colour, luma, layout, edges); change values are 0…1 (see views())."""
    weights: tuple[float, ...] = (0.3, 0.2, 0.25, 0.25)   # sum 1
    luma_full_scale: float = 0.2    # a mean luma change this large counts as total change
    floors: tuple[float, ...] = (0.02, 0.05, 0.03, 0.03)  # still shots don't divide by ~0
    min_change: float = 0.3         # weighted change a cut must reach …
    min_ratio: float = 3.0          # … and how far it must stand out from its neighbourhood
    quiet_change: float = 0.1       # a quieter change is a cut only if the palette switched
    layout_jump: float = 6.0        # … or the layout view alone stands out this far
    broad_jump: float = 4.0         # … or luma, layout and edges all stand out this far
    min_residual: float = 0.5       #     and no small shift of the last frame explains it
    ratio_cap: float = 10.0         # one view's stand-out counts at most this much
    window: int = 8                 # neighbourhood half-width (frames)
    min_shot_s: float = 0.4         # cuts closer than this: the stronger one is kept
    flash_max_frames: int = MAX_LAG - 1
    flash_return: float = 0.4       # after a flash the picture is back: see _burst_length
    flash_min_lift: float = 0.05    # … and the flash frames are this much brighter (0…1 luma)

    def __post_init__(self):
        v = len(CHANGE_VIEWS)
        if len(self.weights) != v or not np.isclose(sum(self.weights), 1.0):
            raise InputError(f"CutParams.weights must be {v} numbers summing to 1, got {self.weights}")
        if len(self.floors) != v or min(self.floors) <= 0:
            raise InputError(f"CutParams.floors must be {v} numbers > 0, got {self.floors}")


@dataclass(frozen=True)
class Transitions:
    """cuts: first frames of new shots. flashes: first frames of bright bursts of at most
    flash_max_frames after which the same shot goes on (not cuts). score: (n,) float32, the
    combined change of frame k against k − 1, 0…1 (0 for frame 0)."""
    cuts: tuple[int, ...]
    flashes: tuple[int, ...]
    score: np.ndarray


def _check_change(change: np.ndarray) -> np.ndarray:
    change = np.asarray(change, dtype=np.float32)
    if change.ndim != 3 or change.shape[1] != MAX_LAG or change.shape[2] != len(CHANGE_VIEWS):
        raise InputError(f"change must be shaped (n, {MAX_LAG}, {len(CHANGE_VIEWS)}), got {change.shape}")
    return change


def views(change: np.ndarray, *, params: CutParams = CutParams()) -> np.ndarray:
    """The change views on one 0…1 scale: (n, MAX_LAG, 4) → same shape, float32; the luma
    view divided by luma_full_scale (and capped), NaN (no frame that far back) → 0."""
    change = _check_change(change)
    out = np.nan_to_num(change)
    luma = CHANGE_VIEWS.index("luma")
    out[..., luma] = np.minimum(out[..., luma] / params.luma_full_scale, 1.0)
    return out


def combined_change(change: np.ndarray, *, params: CutParams = CutParams()) -> np.ndarray:
    """One 0…1 change value per frame and lag: (n, MAX_LAG, 4) → (n, MAX_LAG) float32, the
    weighted sum of the views: only a new shot moves all four."""
    return (views(change, params=params) @ np.asarray(params.weights, dtype=np.float32)).astype(np.float32)


def neighbourhood_ratio(x: np.ndarray, *, window: int, floor: float | np.ndarray) -> np.ndarray:
    """x[k] / (median of x over k − window … k + window without k, + floor), along axis 0:
    (n, …) → (n, …) float32.

    Like PySceneDetect's AdaptiveDetector, but with the median, so another cut or a flash
    nearby does not hide this one; a fast camera move raises the neighbours too.
    """
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    if n == 0:
        return np.zeros_like(x)
    pad = [(window, window)] + [(0, 0)] * (x.ndim - 1)
    padded = np.pad(x, pad, mode="reflect" if n > window else "edge")
    win = np.lib.stride_tricks.sliding_window_view(padded, 2 * window + 1, axis=0)
    around = np.concatenate([win[..., :window], win[..., window + 1:]], axis=-1)
    return (x / (np.median(around, axis=-1) + floor)).astype(np.float32)


def standout(change: np.ndarray, *, params: CutParams = CutParams()) -> np.ndarray:
    """How far each frame's change from the frame before stands out from its neighbourhood,
    per view: (n, MAX_LAG, 4) → (n, 4) float32 neighbourhood ratios (0 for frame 0).
    Per view, because a fast move can swamp the layout and edge views while the palette
    still switches only at the cut."""
    v = views(change, params=params)[:, 0]
    if len(v):
        v[0] = 0.0
    return neighbourhood_ratio(v, window=params.window, floor=np.asarray(params.floors, np.float32))


def find_cuts(change: np.ndarray, *, fps: Fraction, brightness: np.ndarray,
              residual: np.ndarray | None = None, params: CutParams = CutParams()) -> Transitions:
    """Hard cuts and flashes from change (n, MAX_LAG, 4) and brightness (n,) 0…1.

    A candidate frame k stands out from its neighbourhood (the weighted mean of the views'
    standout() ratios ≥ min_ratio) and changes a lot from k − 1 (combined_change ≥
    min_change), or at least quiet_change where the palette switched (the colour view alone
    stands out) or the layout jumped (its ratio ≥ layout_jump): between two look-alike
    shots one of those moves, while a jolt of a detailed picture within a shot (a pan
    that stutters, a bump) moves mostly the fine detail. If some frame k + m (m ≤ flash_max_frames) looks like k − 1
    again, frames k … k + m − 1 were a burst within the shot, not a new shot: a flash if
    they are brighter (lightning, a muzzle flash), otherwise nothing. Cuts closer than
    min_shot_s (at the nominal fps) keep only the stronger.
    """
    v = views(change, params=params)
    d = (v @ np.asarray(params.weights, dtype=np.float32)).astype(np.float32)
    brightness = np.asarray(brightness, dtype=np.float32)
    if len(brightness) != len(d):
        raise InputError(f"brightness has {len(brightness)} frames, change has {len(d)}")
    d1 = d[:, 0].copy()
    if len(d1):
        d1[0] = 0.0
    per_view = standout(change, params=params)
    w = np.asarray(params.weights, dtype=np.float32)
    ratio = np.minimum(per_view, params.ratio_cap) @ w
    # Between two look-alike shots (same palette: two skies, two night exteriors) the colour
    # view barely moves, but light, layout and detail all change at once. A jolt of the
    # camera can do that too, so this needs `residual` (picture.shift_residual): a new
    # picture is not the old one moved by a few pixels.
    broad = per_view[:, [CHANGE_VIEWS.index(x) for x in ("luma", "layout", "edges")]].min(axis=1)
    if residual is None:
        broad = np.zeros_like(broad)
    else:
        broad = np.where(np.asarray(residual) >= params.min_residual, broad, 0.0)
    new_picture = ((per_view[:, CHANGE_VIEWS.index("colour")] >= params.min_ratio)
                   | (per_view[:, CHANGE_VIEWS.index("layout")] >= params.layout_jump)
                   | (broad >= params.broad_jump))
    candidates = np.flatnonzero((ratio >= params.min_ratio)
                                & ((d1 >= params.min_change)
                                   | ((d1 >= params.quiet_change) & new_picture)))
    cuts: list[int] = []
    flashes: list[int] = []
    skip_through = -1
    for k in candidates:
        k = int(k)
        if k <= skip_through:
            continue  # the return from a burst is not a cut either
        m = _burst_length(k, v, params)
        if m:
            if brightness[k:k + m].mean() - brightness[k - 1] >= params.flash_min_lift:
                flashes.append(k)
            skip_through = k + m
            continue
        cuts.append(k)
    min_frames = max(1, frames_covering(params.min_shot_s, fps))
    return Transitions(tuple(_keep_apart(cuts, d1, min_frames)), tuple(flashes), d1)


def _burst_length(k: int, v: np.ndarray, params: CutParams) -> int:
    """m if frame k + m is back to frame k − 1, else 0. v: views() of the change array.

    Compared at one lag, m + 1: frame k + m against k − 1 ("back"), and frame k against
    k − m − 1 (the jump), each per view in excess of the usual change between frames m + 1
    apart within the shot (the median over the window before k), because a pan drifts the
    layout and edges further over more frames while the palette stays put. Back means a
    weighted excess under flash_return × the jump's; a jump whose excess is under
    min_change / 2 cannot be told from the drift, and then nothing is called a flash.
    """
    before = v[max(k - params.window, 1):k]
    if len(before) == 0:
        return 0
    w = np.asarray(params.weights, dtype=np.float32)
    usual = np.median(before, axis=0)            # (MAX_LAG, views) within-shot change
    for m in range(1, min(params.flash_max_frames, MAX_LAG - 1) + 1):
        if k + m >= len(v):
            break
        jump = float(np.maximum(v[k, m] - usual[m], 0) @ w)        # frame k vs k − m − 1
        if jump < params.min_change / 2:
            break
        back = float(np.maximum(v[k + m, m] - usual[m], 0) @ w)    # frame k + m vs k − 1
        if back <= params.flash_return * jump:
            return m
    return 0


def _keep_apart(cuts: list[int], strength: np.ndarray, min_frames: int) -> list[int]:
    """Cuts at least min_frames after the previous boundary (the first frame counts as one);
    of two that are closer, the stronger stays."""
    kept: list[int] = []
    for k in cuts:
        if k < min_frames:
            continue
        if kept and k - kept[-1] < min_frames:
            if strength[k] > strength[kept[-1]]:
                kept[-1] = k
            continue
        kept.append(k)
    return kept


def shots_from_boundaries(boundaries: tuple[tuple[int, str], ...], *, frame_times_s: np.ndarray,
                          end_s: float, motion: np.ndarray, brightness: np.ndarray) -> tuple[Shot, ...]:
    """Shots between boundaries (frame, kind), kind one of "cut" | "dissolve" | "fade".

    frame_times_s: (n,) start time of each frame (s), so shot times are frame starts exactly;
    end_s: end of the last frame. Motion and brightness are the shot's means (the first
    frame's motion is left out: it measures the change across the boundary).
    """
    n = len(frame_times_s)
    if n == 0:
        return ()
    frames = [0] + [f for f, _ in boundaries]
    kinds = ["start"] + [kind for _, kind in boundaries]
    if any(b <= a for a, b in zip(frames, frames[1:])) or frames[-1] >= n:
        raise InputError(f"shot boundaries must ascend within 1…{n - 1}, got {frames[1:]}")
    shots = []
    for i, (a, kind) in enumerate(zip(frames, kinds)):
        b = frames[i + 1] if i + 1 < len(frames) else n
        inner_motion = motion[a + 1:b]
        shots.append(Shot(start_s=float(frame_times_s[a]),
                          end_s=float(frame_times_s[b]) if b < n else float(end_s),
                          start_frame=a, transition_in=kind,
                          motion=round(float(inner_motion.mean()) if len(inner_motion) else 0.0, 5),
                          brightness=round(float(brightness[a:b].mean()), 5)))
    return tuple(shots)


@dataclass(frozen=True)
class FadeParams:
    flat_contrast: float = 0.03     # a frame this flat (luma std) is a plain colour …
    black: float = 0.07             # … black below this brightness
    white: float = 0.93             # … white above this one
    min_ramp_frames: int = 4        # a fade moves steadily for at least this many frames


def find_fades(brightness: np.ndarray, contrast: np.ndarray, *, flashes: tuple[int, ...] = (),
               params: FadeParams = FadeParams()) -> tuple[tuple[int, int | None, int, str], ...]:
    """Fades through black or white: (start, boundary, end, kind) frames, kind "fade";
    boundary None for the cut's opening fade-in and closing fade-out (no new shot).

    A run of plain black (or white) frames, entered by a steady ramp of brightness (a fade
    out) and/or left by one (a fade in). The boundary — where the next shot starts — is the
    first frame after the run that shows a picture again; the span covers both ramps.
    A white run that find_cuts() called a flash (lightning that decays) is not a fade.
    """
    b = np.asarray(brightness, dtype=np.float32)
    c = np.asarray(contrast, dtype=np.float32)
    n = len(b)
    flat = c <= params.flat_contrast
    plain = flat & ((b <= params.black) | (b >= params.white))
    out = []
    k = 0
    while k < n:
        if not plain[k]:
            k += 1
            continue
        start = k
        while k < n and plain[k]:
            k += 1
        end = k                                     # first frame after the run
        white = b[start] >= params.white
        towards = (lambda a, z: a < z) if not white else (lambda a, z: a > z)
        ramp_in = start
        while ramp_in > 0 and towards(b[ramp_in], b[ramp_in - 1]) and not plain[ramp_in - 1]:
            ramp_in -= 1
        ramp_out = end
        while ramp_out + 1 < n and towards(b[ramp_out], b[ramp_out + 1]) and not plain[ramp_out + 1]:
            ramp_out += 1
        faded_out = start - ramp_in >= params.min_ramp_frames
        faded_in = ramp_out - end + 1 >= params.min_ramp_frames
        is_flash = any(start - 1 <= f <= end for f in flashes)
        if is_flash:
            continue
        if (faded_out or faded_in) and start > 0 and end < n:
            out.append((ramp_in, end, ramp_out + 1, "fade"))
        elif start == 0 and faded_in and end < n:
            # The cut opens from black: a fade-in, but no new shot (boundary None).
            out.append((0, None, ramp_out + 1, "fade"))
        elif end == n and faded_out and start > 0:
            out.append((ramp_in, None, n, "fade"))     # …or closes to black
    return tuple(out)


def boundaries(cuts: tuple[int, ...], fades: tuple[tuple[int, int, int, str], ...],
               ) -> tuple[tuple[int, str], ...]:
    """Shot boundaries (frame, kind) from hard cuts and fades or dissolves (both given as
    (start, boundary, end, kind) spans). A fade has one boundary,
    the first frame out of black (or white); "cuts" inside its span are the ramp's own
    frame changes, or the hard cut out of the black, which is that same boundary."""
    kinds = {c: "cut" for c in cuts
             if not any(start <= c < end for start, _, end, _ in fades)}
    kinds.update({boundary: kind for _, boundary, _, kind in fades if boundary is not None})
    return tuple(sorted(kinds.items()))


@dataclass(frozen=True)
class DissolveParams:
    min_long_change: float = 0.3    # the two ends differ like a cut …
    max_step_share: float = 0.45    # … but no single step is more than this share of it
    contrast_dip: float = 0.85      # a blend of two pictures is flatter than either
    min_frames: int = 6             # shorter than this it reads as a cut


def find_dissolves(long_change: np.ndarray, change: np.ndarray, contrast: np.ndarray, *,
                   cuts: tuple[int, ...] = (), params: DissolveParams = DissolveParams(),
                   cut_params: CutParams = CutParams()) -> tuple[tuple[int, int, int, str], ...]:
    """Dissolves: (start, boundary, end, "dissolve") frames; boundary is the middle.

    long_change: (n, 4) frame k against k − LONG_LAG; change: (n, MAX_LAG, 4). A dissolve
    is where the pictures LONG_LAG apart differ like a cut while every single step is
    small, and the middle frame is flatter than both ends (two pictures averaged: the
    classic variance dip, which a fast pan — also a big change over many small steps —
    does not have). Frames near a hard cut are left to the cut.
    """
    from scorer.analyze.picture import LONG_LAG

    w = np.asarray(cut_params.weights, dtype=np.float32)
    # views() takes the (n, MAX_LAG, 4) layout; the long comparison fills one lag of it.
    as_lags = np.repeat(np.asarray(long_change, dtype=np.float32)[:, None, :], MAX_LAG, axis=1)
    long = views(as_lags, params=cut_params)[:, 0] @ w
    step = combined_change(change, params=cut_params)[:, 0]
    c = np.asarray(contrast, dtype=np.float32)
    n = len(long)
    half = LONG_LAG // 2
    out: list[tuple[int, int, int, str]] = []
    k = LONG_LAG
    while k < n:
        mid = k - half                     # long[k] compares k with k − LONG_LAG: centred at mid
        a, b = k - LONG_LAG, k
        if (long[k] >= params.min_long_change
                and long[k] == long[max(k - half, 0):min(k + half + 1, n)].max()
                and np.nanmax(step[a + 1:b + 1]) <= params.max_step_share * long[k]
                and not any(a - 2 <= cut <= b + 2 for cut in cuts)
                and c[mid] <= params.contrast_dip * min(c[a], c[b])):
            moving = np.flatnonzero(step[a + 1:b + 1] > 0.25 * step[a + 1:b + 1].max()) + a + 1
            start, end = int(moving[0]) - 1, int(moving[-1]) + 1
            if end - start >= params.min_frames:
                out.append((start, (start + end) // 2, end, "dissolve"))
                k = b + half
                continue
        k += 1
    return tuple(out)


def describe_shots(shots: tuple[Shot, ...], arrays: dict[str, np.ndarray], *,
                   pace_window_s: float = 15.0) -> tuple[Shot, ...]:
    """Shots with their mean contrast, saturation and warmth (from the per-frame arrays)
    and the cutting rate around them: shots per minute starting within ±pace_window_s."""
    from dataclasses import replace

    n = len(arrays["brightness"])
    starts = np.array([s.start_s for s in shots])
    out = []
    for i, shot in enumerate(shots):
        a = shot.start_frame
        b = shots[i + 1].start_frame if i + 1 < len(shots) else n
        lo, hi = shot.start_s - pace_window_s, shot.end_s + pace_window_s
        span = min(hi, shots[-1].end_s) - max(lo, 0.0)
        count = int(((starts >= lo) & (starts < hi)).sum())
        out.append(replace(shot, **{k: round(float(np.mean(arrays[k][a:b])), 5)
                                    for k in ("contrast", "saturation", "warmth")},
                           pace_per_min=round(60.0 * count / max(span, 1.0), 2)))
    return tuple(out)
