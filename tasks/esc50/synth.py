"""Deterministic synthetic data for `esc50`, in the real ESC-50 layout and file format.

Layout written (the publisher's, ROOT being the `ESC-50-master` folder):

    ROOT/audio/{fold}-{clip_id}-{take}-{target}.wav     5 s, 44.1 kHz, mono, 16-bit
    ROOT/meta/esc50.csv      filename,fold,target,category,esc10,src_file,take

The ten classes are the real ESC-10 categories with their real ESC-50 target ids,
all flagged esc10=True. Like the real data, each source recording (`src_file`, a
made-up Freesound-like id) gives several takes (A, B, C, ...) that share its voice,
room and background, and all takes of a source sit in one fold; so a split that
ignored the folds would leak a recording's other takes into training.

Folds differ in difficulty on purpose: the SNR falls (from 12-24 dB to 3-15 dB) and
the chance of a quieter distractor event from another class rises (5% to 25%) from
fold 1 to fold 5. Classes come in families that share their spectral ingredients
(calls: dog, rooster, crying_baby draw pitch and timbre from one range; textures
and machines: rain, sea_waves, crackling_fire, clock_tick, helicopter, chainsaw
draw their noise from one distribution), so spectral summaries confuse them while
their time-frequency patterns (glides, vibrato, click density, swells, pulse
rates) tell them apart. Sources also differ in level, a mild spectral tilt, an
occasional band-limited channel and their room noise. As in ESC-50, some short
events are padded to 5 s with digital silence.

Every random draw comes from a generator keyed by (seed, kind, class, fold, source,
take), so output is byte-identical across runs and independent of writing order.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.core.atomic import atomic_dir
from bench.data.synthetic import blocks as synth

SYNTH_VERSION = 1
SAMPLE_RATE = 44100
SECONDS = 5.0
SUBTYPE = "PCM_16"
N_FOLDS = 5
COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
# (ESC-50 target id, category) of the ESC-10 subset, as in the real meta/esc50.csv
CATEGORIES: tuple[tuple[int, str], ...] = (
    (0, "dog"), (1, "rooster"), (10, "rain"), (11, "sea_waves"), (12, "crackling_fire"),
    (20, "crying_baby"), (21, "sneezing"), (38, "clock_tick"), (40, "helicopter"), (41, "chainsaw"),
)
TAKE_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_PLAN, _VOICE, _TAKE, _DISTRACT = 0, 1, 2, 3  # kinds mixed into every seed
_FOLD_SNR_DB = {1: (12.0, 24.0), 2: (10.0, 22.0), 3: (8.0, 20.0), 4: (6.0, 18.0), 5: (3.0, 15.0)}
_FOLD_DISTRACTOR = {1: 0.05, 2: 0.1, 3: 0.15, 4: 0.2, 5: 0.25}
_CHANNEL_PROBABILITY = 0.3  # a source recorded through a band-limited microphone or codec
_PAD_PROBABILITY = 0.3  # short events padded with digital silence, as ESC-50 did
_CALL_F0 = (350.0, 700.0)  # dog, rooster and crying_baby share one pitch range
_PADDED = frozenset({"dog", "rooster", "crying_baby", "sneezing"})


# ---------------------------------------------------------------- public entry point


def generate(root: Path, *, sources: int = 2, takes: int = 2, seed: int = 0, seconds: float = SECONDS) -> None:
    """Write `sources` source recordings per class and fold, `takes` clips each, to `root`.

    Written atomically (an interrupted run leaves nothing at `root`); raises
    FileExistsError if `root` exists. `seconds` exists for fast tests; the real
    format, and the default, is 5 s.
    """
    if sources < 1 or not 1 <= takes <= len(TAKE_LETTERS):
        raise ValueError(f"need sources >= 1 and 1 <= takes <= {len(TAKE_LETTERS)}, got {sources}, {takes}")
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    ids = source_ids(seed, sources)
    with atomic_dir(root) as tmp:
        (tmp / "audio").mkdir()
        (tmp / "meta").mkdir()
        rows = []
        for c, (target, category) in enumerate(CATEGORIES):
            for fold in range(1, N_FOLDS + 1):
                for s in range(sources):
                    src = ids[c, fold - 1, s]
                    for k in range(takes):
                        take = TAKE_LETTERS[k]
                        filename = f"{fold}-{src}-{take}-{target}.wav"
                        audio = render_clip(seed, c, fold, s, k, seconds)
                        synth.write_clip(tmp / "audio" / filename, audio, SAMPLE_RATE, SUBTYPE, 1)
                        rows.append((filename, fold, target, category, "True", src, take))
        rows.sort()  # the real esc50.csv is sorted by file name
        with open(tmp / "meta" / "esc50.csv", "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(rows)


def rng_for(seed: int, kind: int, *index: int) -> np.random.Generator:
    """A generator owned by one key: same key, same draws, whatever else is generated."""
    return np.random.default_rng(np.random.SeedSequence([SYNTH_VERSION, seed, kind, *index]))


def source_ids(seed: int, sources: int) -> np.ndarray:
    """Distinct Freesound-like clip ids, shape (classes, folds, sources)."""
    shape = (len(CATEGORIES), N_FOLDS, sources)
    ids = rng_for(seed, _PLAN, sources).choice(np.arange(10000, 280000), size=len(CATEGORIES) * N_FOLDS * sources, replace=False)
    return ids.reshape(shape)


# ---------------------------------------------------------------- one clip


def render_clip(seed: int, c: int, fold: int, s: int, k: int, seconds: float = SECONDS) -> np.ndarray:
    """Take `k` of source `s` of class `c` in `fold`: the class sound over the source's background."""
    sr = SAMPLE_RATE
    n = round(seconds * sr)
    category = CATEGORIES[c][1]
    room = rng_for(seed, _VOICE, c, fold, s, 0)  # shared by all takes of the source
    take = rng_for(seed, _TAKE, c, fold, s, k)
    voice = rng_for(seed, _VOICE, c, fold, s, 1)  # the recipe's own shared draws
    event = RECIPES[category](voice, take, n, sr)
    tilt, ref = room.uniform(-3.0, 2.0), room.uniform(300.0, 2000.0)
    event = synth.normalize_rms(synth.spectral_tilt(event, sr, tilt, ref))
    if take.random() < _FOLD_DISTRACTOR[fold]:
        _add_distractor(event, rng_for(seed, _DISTRACT, c, fold, s, k), c, sr)
    snr = room.uniform(*_FOLD_SNR_DB[fold]) + take.uniform(-2.0, 2.0)
    mix = synth.mix_at_snr(event, _background(room, take, n, sr), snr)
    level = room.uniform(-28.0, -20.0) + take.uniform(-2.0, 2.0)
    if room.random() < _CHANNEL_PROBABILITY:
        mix = synth.bandpass(mix, sr, room.uniform(50.0, 300.0), room.uniform(6000.0, 12000.0))
    mix = synth.normalize_rms(mix, synth.db_to_gain(level))
    if category in _PADDED and take.random() < _PAD_PROBABILITY:
        end = int(take.uniform(0.4, 0.8) * n)
        mix[end:] = 0.0
        mix[:end] *= synth.fade(end, sr, 0.0, 0.02)
    return mix


def _add_distractor(event: np.ndarray, rng: np.random.Generator, c: int, sr: int) -> None:
    """A quieter 0.5-2 s piece of another class somewhere in the clip."""
    other = int(rng.choice([i for i in range(len(CATEGORIES)) if i != c]))
    length = min(len(event), int(rng.uniform(0.5, 2.0) * sr))
    piece = RECIPES[CATEGORIES[other][1]](rng, rng, length, sr)
    piece = synth.normalize_rms(piece) * synth.fade(length, sr, 0.05, 0.05)
    synth.add_at(event, piece, int(rng.integers(0, len(event) - length + 1)), synth.db_to_gain(rng.uniform(-14.0, -6.0)))


def _background(room: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """The source's room: a fixed noise colour and band, sometimes a mains hum."""
    color = str(room.choice(synth.NOISE_COLORS))
    band = (room.uniform(0.0, 600.0), room.uniform(2500.0, 16000.0)) if room.random() < 0.5 else None
    hum = room.uniform(0.0, 0.4) if room.random() < 0.3 else 0.0
    hum_f0 = float(room.choice([50.0, 60.0]))
    noise = synth.bandpass_noise(take, n, sr, *band, color) if band else synth.colored_noise(take, n, color)
    if hum:
        tone = synth.harmonic_tone(synth.constant_contour(n, hum_f0), sr, [1.0, 0.5, 0.3, 0.2], take)
        noise = noise + hum * synth.normalize_rms(tone, 1.0)
    return noise


# ---------------------------------------------------------------- helpers


def _logu(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Log-uniform draw: low and high registers equally likely."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """FFT convolution cropped to len(x): scatters one kernel at every impulse of `x`."""
    m = synth.fast_fft_len(len(x) + len(kernel) - 1)
    return np.fft.irfft(np.fft.rfft(x, m) * np.fft.rfft(kernel, m), m)[: len(x)]


def _impulses(rng: np.random.Generator, n: int, sr: int, rate: float | np.ndarray, alpha: float) -> np.ndarray:
    """Poisson impulses at `rate` per second (scalar or per-sample), Pareto(alpha) amplitudes."""
    density = np.broadcast_to(np.asarray(rate, dtype=np.float64), (n,)) / sr
    hits = rng.random(n) < density
    out = np.zeros(n)
    count = int(hits.sum())
    # capped, so that one freak impulse cannot swallow the clip's whole level budget
    out[hits] = np.minimum(1.0 + rng.pareto(alpha, count), 12.0) * rng.choice([-1.0, 1.0], count)
    return out


def _smooth_random(rng: np.random.Generator, n: int, sr: int, rate_hz: float) -> np.ndarray:
    """A slowly wandering curve in [0, 1] (control points at `rate_hz`, linearly joined)."""
    points = max(2, int(n / sr * rate_hz) + 2)
    knots = rng.random(points)
    return np.interp(np.linspace(0, points - 1, n), np.arange(points), knots)


def _bed(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Noise from one distribution shared by the texture and machine classes, so that
    their average spectra overlap and only their time structure tells them apart."""
    color = str(voice.choice(synth.NOISE_COLORS))
    return synth.bandpass_noise(take, n, sr, voice.uniform(20.0, 1500.0), voice.uniform(3000.0, 14000.0), color)


def _click(voice: np.random.Generator, sr: int) -> np.ndarray:
    """A short broadband click (droplet, crackle, tick): decaying band-passed noise."""
    m = int(0.006 * sr)
    kernel = synth.bandpass_noise(voice, m, sr, voice.uniform(500.0, 4000.0), voice.uniform(8000.0, 16000.0))
    return kernel * synth.exp_decay(m, sr, voice.uniform(0.0005, 0.002))


def _harmonic_call(contour: np.ndarray, sr: int, amps: np.ndarray, rng: np.random.Generator,
                   env: np.ndarray, breath: float) -> np.ndarray:
    """A voiced call: harmonics along `contour`, plus breath noise, shaped by `env`."""
    tone = synth.harmonic_tone(contour, sr, amps, rng)
    f = float(np.median(contour))
    hiss = synth.bandpass_noise(rng, len(contour), sr, f, f * 8.0, "pink")
    return (synth.normalize_rms(tone, 1.0) + breath * hiss) * env


# ---------------------------------------------------------------- class recipes
# Each takes (voice, take, n, sr): `voice` draws what stays the same across a source's
# takes (pitch, timbre, rate); `take` what changes from take to take (timing, count).


def dog(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """1-5 short barks: fast falling pitch, noisy onset, irregular spacing."""
    f0, width = _logu(voice, *_CALL_F0), voice.uniform(0.1, 0.25)
    amps = synth.harmonic_amplitudes(int(voice.integers(8, 16)), voice.uniform(-10.0, -4.0))
    rise, fall, breath = voice.uniform(1.2, 1.6), voice.uniform(0.55, 0.8), voice.uniform(0.3, 0.9)
    out = np.zeros(n)
    count = int(take.integers(1, 6))
    for onset in synth.random_onsets(take, count, n / sr, width + 0.05, take.uniform(0.1, 0.5)):
        m = int(take.uniform(0.85, 1.15) * width * sr)
        base = f0 * take.uniform(0.92, 1.08)
        contour = synth.glide_contour(m, sr, base * rise, base * fall, take.uniform(0.03, 0.1))
        env = synth.adsr(m, sr, 0.005, width * 0.3, 0.6, width * 0.4)
        bark = _harmonic_call(contour, sr, amps, take, env, breath * 2.0 * synth.exp_decay(m, sr, 0.02))
        synth.add_at(out, bark, int(onset * sr), take.uniform(0.6, 1.0))
    return out


def rooster(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """One or two crows: three short rising syllables, then a long held, falling one."""
    f0 = _logu(voice, *_CALL_F0)
    amps = synth.harmonic_amplitudes(12, voice.uniform(-8.0, -3.0))
    steps = [1.0, voice.uniform(1.1, 1.25), voice.uniform(1.25, 1.45)]
    lengths = [voice.uniform(0.1, 0.2), voice.uniform(0.1, 0.2), voice.uniform(0.12, 0.25), voice.uniform(0.6, 1.2)]
    rough, fall = voice.uniform(0.2, 0.7), voice.uniform(0.7, 0.9)
    crow_len = sum(lengths) + 0.1
    out = np.zeros(n)
    count = 1 if n / sr < 2 * crow_len + 0.5 else int(take.integers(1, 3))
    for onset in synth.random_onsets(take, count, n / sr, crow_len, 0.5):
        pos = int(onset * sr)
        for i, length in enumerate(lengths):
            m = int(length * take.uniform(0.9, 1.1) * sr)
            if i < 3:
                contour = synth.constant_contour(m, f0 * steps[i])
                env = synth.adsr(m, sr, 0.01, 0.02, 0.8, 0.02)
            else:
                contour = synth.glide_contour(m, sr, f0 * steps[2], f0 * fall, length * 0.6)
                env = synth.adsr(m, sr, 0.02, 0.05, 0.85, length * 0.4)
            contour = contour * (1.0 + 0.02 * np.sin(2 * np.pi * 28.0 * np.arange(m) / sr))
            synth.add_at(out, _harmonic_call(contour, sr, amps, take, env, rough), pos)
            pos += m + int(0.025 * sr)
    return out


def rain(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Dense, light, steady droplet clicks over a noise bed."""
    rate = voice.uniform(60.0, 250.0) * (0.7 + 0.6 * _smooth_random(take, n, sr, 0.5))
    drops = _convolve(_impulses(take, n, sr, rate, 3.0), _click(voice, sr))
    return voice.uniform(0.3, 1.0) * _bed(voice, take, n, sr) + synth.normalize_rms(drops, 1.0)


def sea_waves(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A noise bed that swells and recedes every few seconds, hissing brighter at each crest."""
    period = voice.uniform(2.0, 5.0)
    t = np.arange(n) / sr
    cycle = (t / period + take.uniform(0.0, 1.0)) % 1.0
    rise = voice.uniform(0.25, 0.45)  # share of the cycle spent rising
    swell = np.where(cycle < rise, 0.5 - 0.5 * np.cos(np.pi * cycle / rise),
                     np.exp(-(cycle - rise) / (1 - rise) * voice.uniform(2.0, 4.0)))
    floor = voice.uniform(0.03, 0.2)
    env = floor + (1.0 - floor) * swell
    hiss = synth.bandpass_noise(take, n, sr, voice.uniform(1500.0, 3000.0), voice.uniform(6000.0, 14000.0))
    return _bed(voice, take, n, sr) * env + voice.uniform(0.3, 0.8) * hiss * env**3


def crackling_fire(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Sparse, bursty, heavy-tailed crackles and pops over a noise bed."""
    rate = voice.uniform(10.0, 40.0) * (0.2 + 1.6 * _smooth_random(take, n, sr, 3.0) ** 2)
    crackles = _convolve(_impulses(take, n, sr, rate, 1.2), _click(voice, sr))
    return voice.uniform(0.3, 1.0) * _bed(voice, take, n, sr) + synth.normalize_rms(crackles, 1.0)


def crying_baby(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Wails (rise-fall pitch arcs with vibrato) separated by short noisy inhales."""
    f0 = _logu(voice, *_CALL_F0)
    amps = synth.harmonic_amplitudes(int(voice.integers(8, 14)), voice.uniform(-7.0, -2.0))
    arc, vib_rate, vib = voice.uniform(0.1, 0.35), voice.uniform(5.0, 9.0), voice.uniform(0.03, 0.06)
    breath = voice.uniform(0.1, 0.5)
    out = np.zeros(n)
    pos = int(take.uniform(0.0, 0.8) * sr)
    while pos < n:
        m = int(take.uniform(0.5, 1.4) * sr)
        x = np.linspace(0.0, 1.0, m)
        contour = f0 * take.uniform(0.9, 1.1) * (1.0 + arc * np.sin(np.pi * x))
        contour *= 1.0 + vib * np.sin(2 * np.pi * vib_rate * x * m / sr)
        env = synth.adsr(m, sr, 0.05, 0.1, 0.8, 0.15)
        synth.add_at(out, _harmonic_call(contour, sr, amps, take, env, breath), pos, take.uniform(0.7, 1.0))
        pos += m
        gap = int(take.uniform(0.15, 0.45) * sr)
        inhale = synth.bandpass_noise(take, gap, sr, 800.0, 5000.0, "pink") * synth.adsr(gap, sr, 0.05, 0.0, 1.0, 0.05)
        synth.add_at(out, inhale, pos, 0.15)
        pos += gap
    return out


def sneezing(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A rising voiced 'ah-' then an explosive broadband 'choo' decaying fast; sometimes two."""
    f0 = _logu(voice, 180.0, 400.0)
    amps = synth.harmonic_amplitudes(10, voice.uniform(-10.0, -5.0))
    low, high, tau = voice.uniform(400.0, 1200.0), voice.uniform(6000.0, 12000.0), voice.uniform(0.06, 0.18)
    ah, choo = voice.uniform(0.25, 0.6), voice.uniform(0.3, 0.6)
    out = np.zeros(n)
    count = 1 if take.random() < 0.7 or n / sr < 2.5 else 2
    for onset in synth.random_onsets(take, count, n / sr, ah + choo, 0.4):
        pos = int(onset * sr)
        m = int(ah * sr)
        contour = synth.sweep_contour(m, f0, f0 * take.uniform(1.3, 1.8))
        inhale = _harmonic_call(contour, sr, amps, take, synth.adsr(m, sr, ah * 0.6, 0.0, 1.0, 0.03), 1.0)
        synth.add_at(out, inhale, pos, 0.25)
        k = int(choo * sr)
        burst = synth.bandpass_noise(take, k, sr, low, high, "pink") * synth.exp_decay(k, sr, tau, 0.004)
        synth.add_at(out, burst, pos + m, 1.0)
    return out


def clock_tick(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Very regular clicks (1-3 per second), alternating a tick and a duller tock."""
    period = 1.0 / voice.uniform(1.0, 3.0)
    tick = _click(voice, sr)
    tock = synth.spectral_tilt(_click(voice, sr), sr, voice.uniform(-6.0, -2.0), 2000.0)
    tock_gain = voice.uniform(0.5, 1.0)
    out = np.zeros(n)
    pos, i = take.uniform(0.0, period), 0
    while pos * sr < n:
        synth.add_at(out, tick if i % 2 == 0 else tock, int(pos * sr), 1.0 if i % 2 == 0 else tock_gain)
        pos += period * (1.0 + take.uniform(-0.005, 0.005))
        i += 1
    return synth.normalize_rms(out, 1.0) + voice.uniform(0.05, 0.3) * _bed(voice, take, n, sr)


def helicopter(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Blade slap (low thumps at 8-18 Hz) over AM rotor wash and a faint turbine whine."""
    rate = voice.uniform(8.0, 18.0)
    m = int(0.7 * sr / rate)
    thump = synth.bandpass_noise(voice, m, sr, 40.0, voice.uniform(200.0, 600.0), "pink")
    thump *= synth.exp_decay(m, sr, voice.uniform(0.008, 0.02))
    wobble = synth.sine_contour(n, sr, rate, voice.uniform(0.0, 0.03), take.uniform(0.1, 0.5))
    slaps = synth.pulse_train(n, sr, wobble, thump, jitter=0.02, rng=take)
    wash = _bed(voice, take, n, sr)
    wash = synth.amplitude_modulation(wash, sr, rate, voice.uniform(0.3, 0.7), take.uniform(0, 2 * np.pi))
    whine = synth.harmonic_tone(synth.constant_contour(n, voice.uniform(900.0, 3000.0)), sr, [1.0, 0.4], take)
    approach = np.linspace(*(take.uniform(0.4, 1.0, 2)), n)  # passing by: the level drifts
    mix = synth.normalize_rms(slaps, 1.0) + voice.uniform(0.3, 0.8) * wash + voice.uniform(0.02, 0.15) * whine
    return mix * approach


def chainsaw(voice: np.random.Generator, take: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A buzzy two-stroke engine: idling, revving up to a high whine, and back, with rasp."""
    idle = voice.uniform(40.0, 70.0)
    high = idle * voice.uniform(2.2, 3.5)
    amps = synth.harmonic_amplitudes(int(voice.integers(20, 40)), voice.uniform(-6.0, -3.0))
    levels, pos = [], 0.0
    while pos < n / sr:  # alternate idle and full-throttle segments of random lengths
        full = len(levels) % 2 == int(take.random() < 0.5)
        length = take.uniform(0.4, 1.8)
        levels.append((pos, high * take.uniform(0.9, 1.05) if full else idle * take.uniform(0.95, 1.05)))
        pos += length
    t = np.arange(n) / sr
    starts = [p for p, _ in levels]
    contour = np.array([f for _, f in levels])[np.searchsorted(starts, t, side="right") - 1]
    k = int(voice.uniform(0.1, 0.3) * sr)  # the throttle takes time to respond
    padded = np.concatenate([[0.0], np.cumsum(np.pad(contour, (k // 2, k - 1 - k // 2), mode="edge"))])
    contour = (padded[k:] - padded[:-k]) / k  # moving average, O(n) for any k
    contour *= 1.0 + 0.01 * synth.colored_noise(take, n, "brown")
    buzz = synth.harmonic_tone(contour, sr, amps, take)
    phase = 2 * np.pi * np.cumsum(contour) / sr
    rasp = _bed(voice, take, n, sr) * (0.5 + 0.5 * np.sin(phase)) ** 4
    return synth.normalize_rms(buzz, 1.0) + voice.uniform(0.3, 0.9) * rasp


RECIPES: dict[str, Callable[[np.random.Generator, np.random.Generator, int, int], np.ndarray]] = {
    "dog": dog, "rooster": rooster, "rain": rain, "sea_waves": sea_waves, "crackling_fire": crackling_fire,
    "crying_baby": crying_baby, "sneezing": sneezing, "clock_tick": clock_tick,
    "helicopter": helicopter, "chainsaw": chainsaw,
}
