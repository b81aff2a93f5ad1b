"""Benchmark: the procedural ambience beds against real recordings of the same places.

    python bench/bench_ambience.py [--refs DIR]

References: the field recordings of rain, wind and night (insects, distant wind) in
Debian's megaglest-data package (CC BY-SA; tilesets/*/sounds), unpacked with
`apt-get download megaglest-data && dpkg -x megaglest-data_*.deb DIR` — the bench does
that into a temporary folder unless --refs names a folder where it was done. Identical
files (several tilesets share one) are measured once. Each recording and each scorer bed
(render/ambience.py `bed`, 30 s, a neutral scene, three seeds) is measured the same way:

- **spectrum**: power per octave band (63 Hz–16 kHz) relative to the sound's total, dB;
  *shape error* is the RMS difference in dB between a bed's bands and the median of the
  references of its kind (0: the same balance of lows and highs);
- **stereo**: L/R correlation in three regions — below 300 Hz, 300 Hz–3 kHz, above 3 kHz.
  A real pair of microphones hears long wavelengths alike (correlation near 1 at the
  bottom) and short ones independently (near 0 at the top); two independent noises read
  0 everywhere, which sounds wide but hollow and folds down to mono unlike a room;
- **movement**: standard deviation of the 250 ms level (dB) — gusts, swells, passing
  showers; a bed with none sounds like a fan;
- **grain**: the 99th percentile of the 5 ms level over its median (dB): rain's drops,
  insects' chirps; steady noise reads about 6 dB.

Prints one table per kind: the references (median and range), each bed, and the bed's
shape error.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from scorer.timebase import SAMPLE_RATE  # noqa: E402

OCTAVES_HZ = (63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)
REGIONS_HZ = ((20, 300), (300, 3000), (3000, 20000))
KINDS = {"rain": ("rain",), "wind": ("wind",), "night": ("night", "nightime")}


def unpack_refs(tmp: Path) -> Path:
    subprocess.run(["apt-get", "download", "megaglest-data"], cwd=tmp, check=True, capture_output=True)
    deb = next(tmp.glob("megaglest-data_*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(tmp / "root")], check=True)
    return tmp / "root"


def references(root: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    import soundfile as sf
    from scipy.signal import resample_poly

    found: dict[str, list] = {k: [] for k in KINDS}
    seen = set()
    for path in sorted(glob.glob(str(root / "usr/share/games/megaglest/tilesets/*/sounds/*"))):
        stem = Path(path).stem.lower()
        kind = next((k for k, names in KINDS.items() if stem in names), None)
        if kind is None:
            continue
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        y, sr = sf.read(path, dtype="float32", always_2d=True)
        y = y.T
        if y.shape[0] == 1:
            y = np.repeat(y, 2, axis=0)
        if sr != SAMPLE_RATE:
            y = resample_poly(y, SAMPLE_RATE, sr, axis=1).astype(np.float32)
        if y.shape[1] < SAMPLE_RATE * 3:
            continue                                  # a 3 s loop says little about a place
        found[kind].append((Path(path).parent.parent.name, y))
    return found


def _band_power(spec: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> float:
    sel = (freqs >= lo) & (freqs < hi)
    return float(spec[..., sel].sum())


def measure(y: np.ndarray) -> dict:
    from scipy.signal import butter, sosfilt, welch

    freqs, psd = welch(y, fs=SAMPLE_RATE, nperseg=8192, axis=1)
    mono = psd.mean(axis=0)
    bands = np.array([_band_power(mono, freqs, f / np.sqrt(2), f * np.sqrt(2)) for f in OCTAVES_HZ])
    shape_db = 10 * np.log10(np.maximum(bands, 1e-20) / bands.sum())
    corr = []
    for lo, hi in REGIONS_HZ:
        sos = butter(4, [lo, min(hi, SAMPLE_RATE / 2 * 0.95)], "bandpass", fs=SAMPLE_RATE, output="sos")
        l, r = sosfilt(sos, y[0].astype(np.float64)), sosfilt(sos, y[1].astype(np.float64))
        corr.append(float(np.sum(l * r) / max(np.sqrt(np.sum(l * l) * np.sum(r * r)), 1e-20)))

    def frame_db(frame: int) -> np.ndarray:
        m = y.mean(axis=0)
        k = m.size // frame
        ms = np.mean(np.square(m[:k * frame].reshape(k, frame), dtype=np.float64), axis=1)
        return 10 * np.log10(np.maximum(ms, 1e-20))

    slow = frame_db(SAMPLE_RATE // 4)
    fast = frame_db(SAMPLE_RATE // 200)
    return {"shape_db": shape_db, "corr": corr, "movement_db": float(np.std(slow)),
            "grain_db": float(np.percentile(fast, 99) - np.median(fast))}


def beds(kind: str, seconds: float = 30.0) -> list[tuple[str, np.ndarray]]:
    from scorer.render.ambience import bed
    n = int(seconds * SAMPLE_RATE)
    return [(f"scorer seed {s}", bed(kind, n, rng=np.random.default_rng([s, 7]), dark=0.5, movement=1.0))
            for s in range(3)]


def show(kind: str, refs: list[tuple[str, dict]], ours: list[tuple[str, dict]]) -> None:
    print(f"== {kind}: {len(refs)} recordings")
    head = "  " + " " * 22 + " ".join(f"{f if f < 1000 else str(f // 1000) + 'k':>5}" for f in OCTAVES_HZ)
    print(head + "   corr <300  0.3-3k  >3k   move  grain  shape err")
    ref_shape = np.median([m["shape_db"] for _, m in refs], axis=0)

    def row(name, m, err=None):
        bands = " ".join(f"{v:5.1f}" for v in m["shape_db"])
        c = "  ".join(f"{v:5.2f}" for v in m["corr"])
        e = "" if err is None else f"  {err:5.1f} dB"
        print(f"  {name[:22]:22}{bands}   {c}  {m['movement_db']:5.1f}  {m['grain_db']:5.1f}{e}")

    for name, m in refs:
        row(name, m)
    med = {"shape_db": ref_shape, "corr": list(np.median([m["corr"] for _, m in refs], axis=0)),
           "movement_db": float(np.median([m["movement_db"] for _, m in refs])),
           "grain_db": float(np.median([m["grain_db"] for _, m in refs]))}
    row("references' median", med)
    for name, m in ours:
        row(name, m, float(np.sqrt(np.mean((m["shape_db"] - ref_shape) ** 2))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refs", type=Path, help="where megaglest-data was unpacked (dpkg -x)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.refs or unpack_refs(Path(tmp))
        found = references(root)
        for kind, recs in found.items():
            if not recs:
                print(f"== {kind}: no recordings found under {root}")
                continue
            show(kind, [(name, measure(y)) for name, y in recs], [(name, measure(y)) for name, y in beds(kind)])


if __name__ == "__main__":
    main()
