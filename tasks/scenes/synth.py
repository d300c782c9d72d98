"""Deterministic synthetic data for `scenes`, in the TUT Acoustic Scenes 2017 development layout.

Layout written (the publisher's):

    ROOT/audio/a017_30_40.wav                 10 s, 44.1 kHz, stereo, 24-bit PCM
    ROOT/meta.txt                             audio/a017_30_40.wav<TAB>park<TAB>a017
    ROOT/evaluation_setup/fold{k}_train.txt     audio/...wav<TAB>label
    ROOT/evaluation_setup/fold{k}_evaluate.txt  audio/...wav<TAB>label
    ROOT/evaluation_setup/fold{k}_test.txt      audio/...wav

Each location (the `identifier`, one recording) gets its own draw of the scene's
parameters (engine pitch, bird density, bed choice and levels, background band, a
small spectral tilt and level, as one microphone would give), and all of its
segments share them and sit in one fold, as the publisher's segments of one
recording do. By default each scene has 8 segments from 6 locations (two locations
give two segments, four give one): a CNN needs several training locations per scene
to generalise, and 10 s clips are too costly to have many segments of each.

A scene is its signature events (scanner beeps, rail clicks, typing and phone
rings, page turns, clinks, horns and footsteps, barks, waves, engine harmonics with
gear changes, a car's indicator, clock ticks and mains hum, bird songs, motor
whines) plus one or two broadband beds (babble, traffic, wind, ventilation, rumble,
music) that many scenes share with different odds. The beds make average spectra
overlap, and two pairs of scenes are told apart only by the direction of a pattern,
which clip statistics cannot see (a time-mirrored texture has the same spectrum,
spread and spread of change): park birds chirp upwards and forest birds downwards;
tram motors whine upwards (accelerating) and trains braking into a metro station
whine downwards, over the same beds.

Folds differ in difficulty: the scene-to-background ratio falls and the chance of a
distractor scene mixed in quietly rises from fold 1 to fold 4.

Every random draw comes from a generator keyed by (version, seed, purpose, index),
so the output is byte-identical across runs and machines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.atomic import atomic_dir
from bench.data.synthetic import blocks as synth

CLASSES = (
    "beach", "bus", "cafe/restaurant", "car", "city_center", "forest_path", "grocery_store",
    "home", "library", "metro_station", "office", "park", "residential_area", "train", "tram",
)
N_FOLDS = 4
SYNTH_VERSION = 2
SAMPLE_RATE, SUBTYPE, CHANNELS = 44100, "PCM_24", 2  # the publisher's format
SEGMENTS_PER_RECORDING = 18  # a 3-minute recording cut into 10 s segments

_PLAN, _LOCATION, _SEGMENT = 0, 1, 2  # purposes mixed into every seed
# fold -> (foreground-to-background SNR range in dB, distractor probability)
_FOLD_DIFFICULTY = {1: ((10.0, 18.0), 0.1), 2: ((7.0, 15.0), 0.2), 3: ((4.0, 12.0), 0.3), 4: ((1.0, 9.0), 0.4)}
_DISTRACTOR_DB = (-16.0, -8.0)


@dataclass(frozen=True)
class Segment:
    """One file of the plan: where it goes and what it holds."""

    file: str  # audio/<identifier>_<start>_<end>.wav
    label: str
    identifier: str
    fold: int
    location: int  # index of the location (seeds its shared parameters)
    index: int  # segment number within the whole dataset (seeds its own draws)


# ---------------------------------------------------------------- public entry points


def generate(root: Path, *, locations_per_class: int = 6, clips_per_class: int = 8,
             seconds: float = 10.0, seed: int = 0) -> None:
    """Write the dataset at `root` atomically; FileExistsError if `root` exists."""
    segments = plan(seed, locations_per_class, clips_per_class, seconds)
    with atomic_dir(root) as tmp:
        (tmp / "audio").mkdir()
        for s in segments:
            audio = render_segment(seed, s, seconds)
            synth.write_clip(tmp / s.file, audio, SAMPLE_RATE, SUBTYPE, CHANNELS)
        write_metadata(tmp, segments)


def rng_for(seed: int, purpose: int, *index: int) -> np.random.Generator:
    """A generator owned by one purpose and index: same key, same draws."""
    return np.random.default_rng(np.random.SeedSequence([SYNTH_VERSION, seed, purpose, *index]))


def plan(seed: int, locations_per_class: int, clips_per_class: int, seconds: float) -> list[Segment]:
    """Every segment: class, location identifier, fold and file name.

    A class's clips are spread over its locations as evenly as possible (with the
    defaults, 8 clips over 6 locations: two locations give 2 segments, four give 1),
    and its locations cycle through the folds in a seeded order, so with at least
    four locations per class every fold holds every class.
    """
    if not 1 <= locations_per_class <= clips_per_class <= locations_per_class * SEGMENTS_PER_RECORDING:
        raise ValueError(f"need 1 <= locations_per_class <= clips_per_class <= {SEGMENTS_PER_RECORDING}"
                         f" x locations_per_class, got {locations_per_class} and {clips_per_class}")
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    rng = rng_for(seed, _PLAN)
    n_locations = len(CLASSES) * locations_per_class
    numbers = rng.permutation(n_locations) + 1
    letters = rng.choice(["a", "b"], n_locations)
    segments: list[Segment] = []
    for c, label in enumerate(CLASSES):
        fold_order = rng.permutation(N_FOLDS) + 1
        base, extra = divmod(clips_per_class, locations_per_class)
        longer = set(rng.permutation(locations_per_class)[:extra].tolist())
        for j in range(locations_per_class):
            loc = c * locations_per_class + j
            identifier = f"{letters[loc]}{numbers[loc]:03d}"
            count = base + (j in longer)
            for k in np.sort(rng.choice(SEGMENTS_PER_RECORDING, count, replace=False)):
                name = f"{identifier}_{k * seconds:g}_{(k + 1) * seconds:g}.wav"
                segments.append(Segment(f"audio/{name}", label, identifier, int(fold_order[j % N_FOLDS]),
                                        loc, len(segments)))
    return segments


def write_metadata(root: Path, segments: list[Segment]) -> None:
    """meta.txt and the evaluation_setup lists, rows ordered by label then file as published."""
    rows = sorted(segments, key=lambda s: (s.label, s.file))
    _write_lines(root / "meta.txt", [f"{s.file}\t{s.label}\t{s.identifier}" for s in rows])
    setup = root / "evaluation_setup"
    setup.mkdir()
    for k in range(1, N_FOLDS + 1):
        evaluate = [s for s in rows if s.fold == k]
        train = [s for s in rows if s.fold != k]
        _write_lines(setup / f"fold{k}_train.txt", [f"{s.file}\t{s.label}" for s in train])
        _write_lines(setup / f"fold{k}_evaluate.txt", [f"{s.file}\t{s.label}" for s in evaluate])
        _write_lines(setup / f"fold{k}_test.txt", [s.file for s in evaluate])


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


# ---------------------------------------------------------------- one segment


def render_segment(seed: int, s: Segment, seconds: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Scene textures over the location's background, at the fold's difficulty, tilted and levelled."""
    n = max(int(round(seconds * sr)), 2048)
    rng = rng_for(seed, _SEGMENT, s.index)
    scene = _scene(seed, s.location, s.label, rng, n, sr)
    (snr_lo, snr_hi), p_distractor = _FOLD_DIFFICULTY[s.fold]
    if rng.random() < p_distractor:
        other = str(rng.choice([c for c in CLASSES if c != s.label]))
        # the distractor's "location" is a stranger's: an index no real location uses
        stranger = 100_000 + s.index
        piece = _scene(seed, stranger, other, rng, n, sr)
        scene = scene + synth.normalize_rms(piece, synth.rms(scene)) * synth.db_to_gain(rng.uniform(*_DISTRACTOR_DB))
    loc = rng_for(seed, _LOCATION, s.location, 1)
    mix = synth.mix_at_snr(scene, _background(loc, rng, n, sr), rng.uniform(snr_lo, snr_hi))
    # one microphone and gain setting for the whole dataset: small colour and level differences
    mix = synth.spectral_tilt(mix, sr, loc.uniform(-1.0, 1.0) + rng.uniform(-0.5, 0.5))
    level_db = -30.0 + _LEVEL_OFFSET_DB.get(s.label, 0.0) + loc.uniform(-3.0, 3.0) + rng.uniform(-1.0, 1.0)
    return synth.normalize_rms(mix, synth.db_to_gain(level_db))


def _scene(seed: int, location: int, label: str, rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Sum of the scene's textures, each at its own level; `loc` draws are shared by the location."""
    loc = rng_for(seed, _LOCATION, location, 0)
    out = np.zeros(n)
    for texture, gain_db in signature(label, loc, rng, n, sr) + beds(label, loc, rng, n, sr):
        out += synth.normalize_rms(texture, synth.db_to_gain(gain_db))
    return out


def _background(loc: np.random.Generator, rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """The location's steady noise floor (distant everything plus microphone noise), slowly drifting."""
    low, high = loc.uniform(20.0, 150.0), loc.uniform(6000.0, 11000.0)
    return synth.bandpass_noise(rng, n, sr, low, high, "pink") * slow_envelope(rng, n, sr, 0.2, 0.3)


# Indoor quiet scenes are quieter, traffic louder; ranges overlap widely.
_LEVEL_OFFSET_DB = {"home": -6.0, "library": -8.0, "office": -4.0, "city_center": 4.0, "metro_station": 2.0}


# ---------------------------------------------------------------- envelopes and events


def slow_envelope(rng: np.random.Generator, n: int, sr: int, rate_hz: float, depth: float) -> np.ndarray:
    """A smooth random gain between 1 - depth and 1, changing at about `rate_hz` (gusts, drift)."""
    step = max(1, int(sr / (4.0 * rate_hz)))
    knots = rng.random(n // step + 2)
    x = np.interp(np.arange(n) / step, np.arange(len(knots)), knots)
    x = 0.5 - 0.5 * np.cos(np.pi * x)  # soften the corners of the linear interpolation
    return 1.0 - depth + depth * x


def poisson_onsets(rng: np.random.Generator, seconds: float, rate_hz: float, margin: float = 0.0) -> np.ndarray:
    """Event times of a Poisson process of `rate_hz` in [0, seconds - margin)."""
    count = rng.poisson(max(rate_hz, 0.0) * seconds)
    return np.sort(rng.uniform(0.0, max(seconds - margin, 1e-3), count))


def place(n: int, sr: int, onsets, make: Callable[[], np.ndarray], gains=None) -> np.ndarray:
    """Add one freshly made event at each onset (seconds)."""
    out = np.zeros(n)
    for i, t in enumerate(onsets):
        synth.add_at(out, make(), int(t * sr), 1.0 if gains is None else gains[i])
    return out


def chirp(rng: np.random.Generator, sr: int, f_start: float, f_end: float, seconds: float) -> np.ndarray:
    m = max(int(seconds * sr), 16)
    tone = synth.harmonic_tone(synth.sweep_contour(m, f_start, f_end), sr, [1.0, 0.15], rng)
    return tone * synth.adsr(m, sr, 0.005, seconds * 0.3, 0.6, seconds * 0.4)


def click(rng: np.random.Generator, sr: int, low: float, high: float, tau: float) -> np.ndarray:
    m = max(int(6 * tau * sr), 16)
    return synth.bandpass_noise(rng, m, sr, low, high, "white") * synth.exp_decay(m, sr, tau, 0.0005)


def tone_burst(rng: np.random.Generator, sr: int, f0: float, seconds: float, amps=(1.0,)) -> np.ndarray:
    m = max(int(seconds * sr), 16)
    return synth.harmonic_tone(synth.constant_contour(m, f0), sr, list(amps), rng) * synth.fade(m, sr, 0.005, 0.01)


# ---------------------------------------------------------------- textures


def babble(rng: np.random.Generator, n: int, sr: int, voices: int, bright: float = 1.0) -> np.ndarray:
    """Overlapping talkers: voiced harmonics and unvoiced noise, gated at syllable rate."""
    seconds = n / sr
    out = synth.bandpass_noise(rng, n, sr, 250.0, 3000.0 * bright, "pink") * slow_envelope(rng, n, sr, 4.0, 0.6)
    for _ in range(voices):
        f0 = rng.uniform(95.0, 240.0)
        contour = synth.sine_contour(n, sr, f0, rng.uniform(0.05, 0.15), rng.uniform(0.3, 1.2), rng.uniform(0, 6.3))
        voiced = synth.harmonic_tone(contour, sr, synth.harmonic_amplitudes(10, -9.0), rng)
        onsets = poisson_onsets(rng, seconds, rng.uniform(2.0, 4.5))
        lengths = rng.uniform(0.08, 0.3, len(onsets))
        gate = synth.burst_envelope(n, sr, onsets, lengths, ramp=0.03)
        out += 0.6 * voiced * gate * slow_envelope(rng, n, sr, 0.3, 0.8)
    return synth.bandpass(out, sr, 120.0, 3500.0 * bright)


def traffic(rng: np.random.Generator, n: int, sr: int, passes_per_10s: float, hum_hz: float) -> np.ndarray:
    """A low rumble plus vehicles passing: swells of engine harmonics whose pitch drops (Doppler)."""
    seconds = n / sr
    out = 0.4 * synth.bandpass_noise(rng, n, sr, 30.0, 600.0, "brown")
    for t0 in poisson_onsets(rng, seconds + 3.0, passes_per_10s / 10.0):
        t0 -= 1.5
        width = rng.uniform(0.8, 2.5)
        start = max(int((t0 - 3.0 * width) * sr), 0)  # only the audible part inside the clip
        m = min(int((t0 + 3.0 * width) * sr), n) - start
        if m < 16:
            continue
        t = (start + np.arange(m)) / sr - t0
        swell = np.exp(-0.5 * (t / width) ** 2)
        f0 = hum_hz * rng.uniform(0.8, 1.25)
        contour = f0 * (1.0 + 0.06 * np.tanh(-t / (0.4 * width)))
        engine = synth.harmonic_tone(contour, sr, synth.harmonic_amplitudes(8, -5.0), rng)
        tyres = synth.bandpass_noise(rng, m, sr, 300.0, rng.uniform(2500.0, 6000.0), "pink")
        synth.add_at(out, swell * (engine + rng.uniform(0.5, 1.5) * tyres), start)
    return out


def birds(rng: np.random.Generator, n: int, sr: int, songs_per_10s: float, f_lo: float, f_hi: float,
          falling: bool) -> np.ndarray:
    """Songs of 3-10 quick chirps, all rising or all falling (two kinds of bird), within [f_lo, f_hi]."""
    seconds = n / sr
    out = np.zeros(n)
    for t0 in poisson_onsets(rng, seconds, songs_per_10s / 10.0, 0.2):
        ratio = rng.uniform(1.3, 1.7)
        f = rng.uniform(f_lo, f_hi / ratio)
        f, ratio = (f * ratio, 1.0 / ratio) if falling else (f, ratio)
        dur, gap = rng.uniform(0.03, 0.12), rng.uniform(0.02, 0.08)
        gain = rng.uniform(0.3, 1.0)
        for i in range(int(rng.integers(3, 11))):
            synth.add_at(out, chirp(rng, sr, f, f * ratio, dur), int((t0 + i * (dur + gap)) * sr), gain)
    return out


def wind(rng: np.random.Generator, n: int, sr: int, low: float, high: float) -> np.ndarray:
    """Broadband rush with gusts."""
    return synth.bandpass_noise(rng, n, sr, low, high, "pink") * slow_envelope(rng, n, sr, rng.uniform(0.15, 0.6), 0.85)


def waves(rng: np.random.Generator, n: int, sr: int, period: float) -> np.ndarray:
    """Breaking waves: a fast rise and a long hissing decay, every `period` seconds or so."""
    seconds = n / sr
    env = np.zeros(n)
    t = rng.uniform(-period, 0.0)
    while t < seconds:
        m = int(period * 1.5 * sr)
        rise = rng.uniform(0.3, 0.9)
        shape = synth.exp_decay(m, sr, period * rng.uniform(0.25, 0.45), attack=rise)
        synth.add_at(env, shape * rng.uniform(0.5, 1.0), int(t * sr))
        t += period * rng.uniform(0.75, 1.25)
    return synth.bandpass_noise(rng, n, sr, 150.0, 9000.0, "pink") * (0.1 + env)


def engine(rng: np.random.Generator, n: int, sr: int, f0: float, gear_changes: float, rolloff: float) -> np.ndarray:
    """A combustion engine: harmonics of the firing rate that climb and drop with gear changes."""
    t = np.arange(n) / sr
    contour = np.full(n, f0)
    for tc in poisson_onsets(rng, n / sr, gear_changes / 10.0):
        ramp = rng.uniform(1.5, 4.0)  # revs climb for `ramp` seconds, then drop at the shift
        inside = (t >= tc - ramp) & (t < tc)
        contour[inside] *= 1.0 + 0.5 * (t[inside] - (tc - ramp)) / ramp
    tone = synth.harmonic_tone(contour, sr, synth.harmonic_amplitudes(16, rolloff), rng)
    return tone * slow_envelope(rng, n, sr, 0.5, 0.3) + 0.5 * synth.bandpass_noise(rng, n, sr, 20.0, 400.0, "brown")


def rail_clicks(rng: np.random.Generator, n: int, sr: int, period: float) -> np.ndarray:
    """Wheels over rail joints: a pair of knocks (two axles) every `period` seconds."""
    seconds = n / sr
    onsets, t = [], rng.uniform(0.0, period)
    spacing = rng.uniform(0.08, 0.18)
    while t < seconds:
        onsets += [t, t + spacing]
        t += period * rng.uniform(0.95, 1.05)
    low = rng.uniform(150.0, 400.0)
    return place(n, sr, onsets, lambda: click(rng, sr, low, low * 6.0, rng.uniform(0.01, 0.03)))


def motor_whine(rng: np.random.Generator, n: int, sr: int, f_lo: float, f_hi: float, rising: bool) -> np.ndarray:
    """Electric traction motors: glides of a few harmonics, up when accelerating, down when braking.

    A rising and a falling whine are time mirrors of each other, with the same
    spectrum and the same spread of spectral change: only the direction differs.
    """
    seconds = n / sr
    out = np.zeros(n)
    t = rng.uniform(-2.0, 0.5)
    while t < seconds:
        m = int(rng.uniform(1.5, 3.0) * sr)
        lo, hi = f_lo * rng.uniform(0.9, 1.1), f_hi * rng.uniform(0.9, 1.1)
        contour = synth.sweep_contour(m, lo, hi) if rising else synth.sweep_contour(m, hi, lo)
        glide = synth.harmonic_tone(contour, sr, [1.0, 0.5, 0.3, 0.2], rng) * synth.fade(m, sr, 0.15, 0.15)
        synth.add_at(out, glide, int(t * sr), rng.uniform(0.6, 1.0))
        t += m / sr + rng.uniform(0.2, 1.0)
    return out


def beeps(rng: np.random.Generator, n: int, sr: int, per_10s: float, freq: float) -> np.ndarray:
    """Barcode-scanner beeps: short pure tones, sometimes doubled."""
    onsets = list(poisson_onsets(rng, n / sr, per_10s / 10.0))
    onsets += [t + 0.18 for t in onsets if rng.random() < 0.3]
    return place(n, sr, onsets, lambda: tone_burst(rng, sr, freq * rng.uniform(0.98, 1.02), rng.uniform(0.07, 0.14)))


def clinks(rng: np.random.Generator, n: int, sr: int, per_10s: float) -> np.ndarray:
    """Cups and cutlery: inharmonic high partials ringing briefly."""
    def make() -> np.ndarray:
        m = int(0.3 * sr)
        f = rng.uniform(1500.0, 4500.0)
        ring = sum(np.sin(2 * np.pi * f * r * np.arange(m) / sr + rng.uniform(0, 6.3)) * a
                   for r, a in ((1.0, 1.0), (2.76, 0.5), (5.4, 0.25)))
        return ring * synth.exp_decay(m, sr, rng.uniform(0.03, 0.09), 0.0005)

    onsets = poisson_onsets(rng, n / sr, per_10s / 10.0)
    return place(n, sr, onsets, make, rng.uniform(0.3, 1.0, len(onsets)))


def footsteps(rng: np.random.Generator, n: int, sr: int, low: float, high: float, tau: float) -> np.ndarray:
    """A walker passing: steps at about 2 Hz, a thud (indoors) or a crunch (gravel)."""
    seconds = n / sr
    start, length = rng.uniform(-2.0, seconds * 0.7), rng.uniform(3.0, 8.0)
    rate = rng.uniform(1.6, 2.2)
    onsets = [t for t in np.arange(start, start + length, 1.0 / rate) if t >= 0]
    return place(n, sr, onsets, lambda: click(rng, sr, low, high, tau))


def typing(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Keyboard bursts: sharp clicks at 5-10 per second for a few seconds at a time."""
    seconds = n / sr
    onsets: list[float] = []
    t = rng.uniform(0.0, 2.0)
    while t < seconds:
        burst = rng.uniform(1.0, 4.0)
        rate = rng.uniform(5.0, 10.0)
        onsets += list(t + np.cumsum(rng.exponential(1.0 / rate, int(burst * rate))))
        t += burst + rng.uniform(0.5, 3.0)
    return place(n, sr, onsets, lambda: click(rng, sr, 1500.0, 7000.0, rng.uniform(0.002, 0.006)))


def ticks(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A wall clock: a dry tick every second."""
    return place(n, sr, np.arange(rng.uniform(0.0, 1.0), n / sr, 1.0), lambda: click(rng, sr, 2000.0, 6000.0, 0.003))


def hum(rng: np.random.Generator, n: int, sr: int, f0: float) -> np.ndarray:
    """Mains hum of a fridge or a light: a steady low harmonic series."""
    return synth.harmonic_tone(synth.constant_contour(n, f0), sr, [1.0, 0.6, 0.4, 0.2, 0.1], rng)


def hvac(rng: np.random.Generator, n: int, sr: int, high: float) -> np.ndarray:
    """Ventilation: steady band-limited noise."""
    return synth.bandpass_noise(rng, n, sr, 60.0, high, "pink")


def music(rng: np.random.Generator, n: int, sr: int, tempo: float) -> np.ndarray:
    """Background music: a triad that changes every beat or two."""
    seconds = n / sr
    out = np.zeros(n)
    beat = 60.0 / tempo
    t = 0.0
    key = rng.uniform(130.0, 260.0)
    while t < seconds:
        length = beat * float(rng.choice([1.0, 2.0]))
        root = key * 2.0 ** (int(rng.choice([0, 3, 5, 7, 9])) / 12.0)
        m = int(length * sr)
        for ratio in (1.0, 1.26, 1.5):
            note = synth.harmonic_tone(synth.constant_contour(m, root * ratio), sr, [1.0, 0.4, 0.2], rng)
            synth.add_at(out, note * synth.adsr(m, sr, 0.02, 0.1, 0.6, 0.1), int(t * sr))
        t += length
    return out


def page_turns(rng: np.random.Generator, n: int, sr: int, per_10s: float) -> np.ndarray:
    """Paper rustle: a short swish of high noise that swells and fades."""
    def make() -> np.ndarray:
        m = int(rng.uniform(0.15, 0.4) * sr)
        return synth.bandpass_noise(rng, m, sr, 1500.0, 8000.0, "white") * np.hanning(m)

    return place(n, sr, poisson_onsets(rng, n / sr, per_10s / 10.0), make)


def ring(rng: np.random.Generator, n: int, sr: int, per_10s: float) -> np.ndarray:
    """Phone ring: two alternating tones warbling at ~20 Hz for a second."""
    def make() -> np.ndarray:
        m = int(1.0 * sr)
        contour = synth.step_contour(m, sr, [rng.uniform(900, 1100), rng.uniform(1300, 1500)], 0.025, 0.002)
        return synth.harmonic_tone(contour, sr, [1.0, 0.3], rng) * synth.fade(m, sr, 0.01, 0.01)

    return place(n, sr, poisson_onsets(rng, n / sr, per_10s / 10.0, 1.0), make)


def horn(rng: np.random.Generator, n: int, sr: int, per_10s: float) -> np.ndarray:
    """A car horn: two close brassy tones for a moment."""
    def make() -> np.ndarray:
        f = rng.uniform(300.0, 500.0)
        amps = synth.harmonic_amplitudes(10, -4.0)
        d = rng.uniform(0.2, 0.7)
        return tone_burst(rng, sr, f, d, amps) + tone_burst(rng, sr, f * 1.26, d, amps)

    return place(n, sr, poisson_onsets(rng, n / sr, per_10s / 10.0), make)


# ---------------------------------------------------------------- scenes
# A scene = its signature layers (events typical of it, drawn from `rng` per segment,
# with the location's parameters drawn from `loc`) + one or two broadband beds shared
# by many scenes, chosen per location with scene-dependent odds. The beds make
# average spectra overlap between scenes; the signatures are what tells them apart.

Layer = tuple[np.ndarray, float]


def bark(rng: np.random.Generator, n: int, sr: int, per_10s: float) -> np.ndarray:
    """A dog somewhere: two or three short harmonic barks with falling pitch."""
    def make() -> np.ndarray:
        out = np.zeros(int(1.2 * sr))
        f0 = rng.uniform(300.0, 600.0)
        for i in range(int(rng.integers(2, 4))):
            m = int(rng.uniform(0.1, 0.2) * sr)
            contour = synth.glide_contour(m, sr, f0 * 1.4, f0 * 0.7, 0.06)
            tone = synth.harmonic_tone(contour, sr, synth.harmonic_amplitudes(8, -6.0), rng)
            synth.add_at(out, tone * synth.exp_decay(m, sr, 0.06, 0.005), int(i * 0.3 * sr))
        return out

    return place(n, sr, poisson_onsets(rng, n / sr, per_10s / 10.0, 1.0), make)


def indicator(rng: np.random.Generator, n: int, sr: int, on: bool) -> np.ndarray:
    """A car's turn signal: tick-tock at about 1.5 Hz, for part of the segment (or not at all)."""
    if not on:
        return np.zeros(n)
    seconds = n / sr
    period = 1.0 / rng.uniform(1.3, 1.8)
    start = rng.uniform(0.0, seconds * 0.5)
    stop = start + rng.uniform(3.0, 8.0)
    onsets = [t + d for t in np.arange(start, min(stop, seconds), period) for d in (0.0, period / 2)]
    return place(n, sr, onsets, lambda: click(rng, sr, 1500.0, 4000.0, 0.004))


BEDS: dict[str, Callable[[np.random.Generator, np.random.Generator, int, int], np.ndarray]] = {
    "babble": lambda loc, rng, n, sr: babble(rng, n, sr, int(loc.integers(2, 5)), loc.uniform(0.7, 1.0)),
    "traffic": lambda loc, rng, n, sr: traffic(rng, n, sr, loc.uniform(1.0, 6.0), loc.uniform(60.0, 120.0)),
    "wind": lambda loc, rng, n, sr: wind(rng, n, sr, loc.uniform(40.0, 400.0), loc.uniform(2000.0, 8000.0)),
    "hvac": lambda loc, rng, n, sr: hvac(rng, n, sr, loc.uniform(800.0, 4000.0)),
    "rumble": lambda loc, rng, n, sr: synth.bandpass_noise(rng, n, sr, 20.0, loc.uniform(300.0, 1500.0), "brown"),
    "music": lambda loc, rng, n, sr: music(rng, n, sr, loc.uniform(80.0, 130.0)),
}

_STRAY_BED_ODDS = 0.15  # any bed may turn up anywhere
_BED_DB = (-12.0, -3.0)  # bed level relative to the signature
# scene -> odds that a location has each bed (at least one is always drawn)
BED_ODDS: dict[str, dict[str, float]] = {
    "beach": {"wind": 0.8, "babble": 0.4, "traffic": 0.1},
    "bus": {"rumble": 0.9, "babble": 0.5, "traffic": 0.3},
    "cafe/restaurant": {"babble": 1.0, "music": 0.5, "hvac": 0.3},
    "car": {"rumble": 1.0, "traffic": 0.4, "music": 0.2},
    "city_center": {"traffic": 1.0, "babble": 0.7, "wind": 0.2},
    "forest_path": {"wind": 0.6, "babble": 0.3, "traffic": 0.3},  # the same as park's:
    "park": {"wind": 0.6, "babble": 0.3, "traffic": 0.3},  # only the birds' chirps differ
    "grocery_store": {"babble": 0.7, "music": 0.6, "hvac": 0.6},
    "home": {"hvac": 0.4, "music": 0.2, "traffic": 0.2, "babble": 0.2},
    "library": {"hvac": 0.8, "babble": 0.2},
    "metro_station": {"rumble": 0.8, "babble": 0.6, "traffic": 0.2},  # the same as tram's:
    "tram": {"rumble": 0.8, "babble": 0.6, "traffic": 0.2},  # only the whine's direction differs
    "office": {"hvac": 0.9, "babble": 0.4},
    "residential_area": {"traffic": 0.7, "wind": 0.5},
    "train": {"rumble": 1.0, "babble": 0.4},
}


def beds(label: str, loc: np.random.Generator, rng: np.random.Generator, n: int, sr: int) -> list[Layer]:
    """The location's beds: its scene's likely ones, rarely any other, a little below the signature.

    Location-random beds carry much of the average spectrum (what clip statistics
    see), while the sparser or narrower signature events still stand out locally.
    """
    odds = BED_ODDS[label]
    names = [b for b in BEDS if loc.random() < odds.get(b, _STRAY_BED_ODDS)] or [max(odds, key=odds.get)]
    return [(BEDS[b](loc, rng, n, sr), loc.uniform(*_BED_DB)) for b in names]


def signature(label: str, loc: np.random.Generator, rng: np.random.Generator, n: int, sr: int) -> list[Layer]:
    """The events typical of a scene, with the location's parameters drawn from `loc`."""
    u = loc.uniform
    if label == "beach":
        return [(waves(rng, n, sr, u(4.0, 8.0)), 0.0)]
    if label == "bus":
        return [(engine(rng, n, sr, u(40.0, 65.0), u(2.5, 4.5), -5.0), 0.0),
                (beeps(rng, n, sr, u(1.0, 3.0), u(1800, 2200)), -3.0)]
    if label == "cafe/restaurant":
        return [(clinks(rng, n, sr, u(6.0, 14.0)), 0.0), (babble(rng, n, sr, 4), -2.0)]
    if label == "car":
        return [(engine(rng, n, sr, u(25.0, 40.0), u(0.3, 1.5), -10.0), 0.0),
                (indicator(rng, n, sr, rng.random() < 0.6), -6.0)]
    if label == "city_center":
        return [(horn(rng, n, sr, u(0.5, 1.5)), 0.0), (footsteps(rng, n, sr, 200.0, 2500.0, 0.015), -4.0),
                (traffic(rng, n, sr, u(5.0, 9.0), u(70.0, 110.0)), 0.0)]
    if label == "forest_path":
        return [(birds(rng, n, sr, u(3.0, 6.0), 2500.0, 5500.0, falling=True), 0.0)]
    if label == "grocery_store":
        return [(beeps(rng, n, sr, u(10.0, 25.0), u(2800, 3200)), 0.0)]
    if label == "home":
        return [(hum(rng, n, sr, float(loc.choice([50.0, 100.0]))), 0.0), (ticks(rng, n, sr), -4.0)]
    if label == "library":
        return [(page_turns(rng, n, sr, u(3.0, 7.0)), 0.0), (footsteps(rng, n, sr, 80.0, 800.0, 0.02), -6.0)]
    if label == "metro_station":
        return [(motor_whine(rng, n, sr, 300.0, 900.0, rising=False), 0.0), (rail_clicks(rng, n, sr, u(1.0, 2.5)), -10.0)]
    if label == "office":
        return [(typing(rng, n, sr), 0.0), (ring(rng, n, sr, u(0.2, 1.0)), -6.0)]
    if label == "park":
        return [(birds(rng, n, sr, u(3.0, 6.0), 2500.0, 5500.0, falling=False), 0.0)]
    if label == "residential_area":
        return [(traffic(rng, n, sr, u(1.0, 2.5), u(60.0, 100.0)), 0.0), (bark(rng, n, sr, u(1.0, 3.0)), -3.0),
                (birds(rng, n, sr, u(0.5, 1.5), 2500.0, 5500.0, falling=rng.random() < 0.5), -8.0)]
    if label == "train":
        return [(rail_clicks(rng, n, sr, u(0.7, 1.2)), 0.0)]
    if label == "tram":
        return [(motor_whine(rng, n, sr, 300.0, 900.0, rising=True), 0.0), (rail_clicks(rng, n, sr, u(1.0, 2.5)), -10.0)]
    raise KeyError(f"no recipe for scene {label!r}")
