"""Where each instrument sits on the stage: its pan and its width.

Film scores are recorded with the orchestra seated as in a concert (MUSIC.md): violins I
left, violins II and violas centre-left, celli centre-right, basses right; horns
left-centre, trumpets centre-right, trombones and tuba right; woodwinds in the middle,
harp left, keyboards and tuned percussion at the back left, timpani back centre. The
renderer places every part there (render/stage.py) and the MIDI file carries the same
positions as CC10, so a composer's own playback seats them alike.

pan: −1 (hard left) … +1 (hard right), the listener's view. width: how much of the
instrument's own stereo spread is kept (0: a point, 1: as the samples have it) — a
section spreads across the stage, a solo instrument is a point in it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Seat:
    pan: float
    width: float

    def __post_init__(self):
        if not -1.0 <= self.pan <= 1.0 or not 0.0 <= self.width <= 1.0:
            raise ValueError(f"a seat needs pan in −1…1 and width in 0…1, got {self.pan}, {self.width}")

    @property
    def cc10(self) -> int:
        """The pan as a MIDI CC10 value (0 left, 64 centre, 127 right)."""
        return max(0, min(127, round(64 + 63.5 * self.pan)))


# The drum kit: the kit sits at the back centre, its cymbals spread across.
KIT_SEAT = Seat(0.0, 0.8)

# General MIDI program → seat. A section (ensemble strings, brass section, choir, pads) is
# wide; solo instruments are points.
_SEATS: dict[int, Seat] = {
    0: Seat(-0.25, 0.7), 1: Seat(-0.25, 0.7), 4: Seat(-0.2, 0.6), 6: Seat(-0.3, 0.4),   # pianos, harpsichord
    8: Seat(-0.35, 0.3), 9: Seat(-0.4, 0.3), 10: Seat(-0.35, 0.3), 11: Seat(-0.35, 0.4),  # celesta … vibraphone
    12: Seat(-0.35, 0.4), 13: Seat(-0.4, 0.4), 14: Seat(0.35, 0.3),                     # marimba, xylophone, bells
    19: Seat(0.0, 0.9),                                                                  # organ: the hall's
    24: Seat(0.3, 0.3), 25: Seat(0.3, 0.3), 26: Seat(0.25, 0.4), 27: Seat(0.25, 0.4),   # guitars
    32: Seat(0.1, 0.1), 33: Seat(0.1, 0.1), 35: Seat(0.1, 0.1),                          # bass guitars
    40: Seat(-0.5, 0.3), 41: Seat(-0.2, 0.3), 42: Seat(0.3, 0.3), 43: Seat(0.5, 0.3),   # violin, viola, cello, bass
    44: Seat(-0.1, 0.8), 45: Seat(-0.3, 0.5), 46: Seat(-0.55, 0.3), 47: Seat(0.0, 0.3),  # tremolo, pizz, harp, timpani
    48: Seat(-0.1, 0.9), 49: Seat(0.0, 0.9), 50: Seat(0.0, 0.9), 51: Seat(0.0, 0.9),    # string sections
    52: Seat(0.0, 0.9), 53: Seat(0.0, 0.8), 54: Seat(0.0, 0.8),                          # choir
    55: Seat(0.0, 0.8),                                                                  # orchestra hit
    56: Seat(0.2, 0.2), 57: Seat(0.45, 0.3), 58: Seat(0.55, 0.2), 59: Seat(0.2, 0.2),    # trumpet, trombone, tuba, muted
    60: Seat(-0.4, 0.4), 61: Seat(0.15, 0.6), 62: Seat(0.15, 0.6), 63: Seat(0.15, 0.6),  # horns, brass sections
    64: Seat(0.1, 0.2), 65: Seat(0.1, 0.2), 66: Seat(0.1, 0.2), 67: Seat(0.1, 0.2),     # saxophones
    68: Seat(0.12, 0.2), 69: Seat(0.12, 0.2), 70: Seat(0.18, 0.2), 71: Seat(-0.1, 0.2),  # oboe, cor anglais, bassoon, clarinet
    72: Seat(-0.15, 0.2), 73: Seat(-0.15, 0.2), 74: Seat(-0.15, 0.2), 75: Seat(-0.15, 0.2),  # piccolo, flutes
    112: Seat(0.3, 0.4), 114: Seat(0.3, 0.4), 115: Seat(0.25, 0.5),                      # tuned percussion
    116: Seat(0.05, 0.5), 117: Seat(-0.1, 0.4), 118: Seat(0.1, 0.4), 119: Seat(0.0, 0.9),  # taiko, toms, reverse cymbal
}


def seat_for(program: int, *, is_drums: bool = False) -> Seat:
    """The seat of a General MIDI program (the kit's for drums). Synth pads and effects
    (80–103) fill the stage; what the table does not name sits centre, half wide."""
    if is_drums:
        return KIT_SEAT
    if program in _SEATS:
        return _SEATS[program]
    if 80 <= program <= 103:
        return Seat(0.0, 1.0)
    return Seat(0.0, 0.5)
