"""Class-typical sound recipes shared by the synthetic generators of several tasks.

A recipe is `recipe(rng, n, sr, style=None) -> np.ndarray`: `n` samples at `sr` Hz of
one class's sound, dry (no background, no level normalisation), built from the
primitives in `bench.data.synthetic.blocks`. Generators add the background, the timbre and the
level themselves.

Two random generators, because slices of one source recording should sound alike:
- `style` draws what a source keeps (a dog's pitch, a siren's wail rate, an
  engine's firing rate, a band's tempo and key). A generator passes a fresh
  generator from the same seed for every slice of a source, so those draws repeat.
- `rng` draws what changes from slice to slice (onsets, counts, noise, phases).
With `style=None` both come from `rng` in the same order, so a recipe called that
way gives exactly what it gave before `style` existed (the kaggle5 data depend on it).

Difficulty is designed: pitch, brightness and loudness ranges overlap between
classes, so spectral summaries are confusable, while each class keeps its own
time-frequency structure (bark rhythm, siren wail, honk pairs, drill chopping,
engine firing, fan hiss, voices, shot decays, hammer strikes, music on a beat).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from bench.data.synthetic import blocks as synth

Recipe = Callable[..., np.ndarray]

_SHARED_F0 = (180.0, 1000.0)  # every tonal class draws its pitch from this range


def _f0(rng: np.random.Generator, lo: float = _SHARED_F0[0], hi: float = _SHARED_F0[1]) -> float:
    """Log-uniform fundamental frequency, so low and high registers are equally likely."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _harmonics(rng: np.random.Generator, lo: float = -12.0, hi: float = -3.0) -> np.ndarray:
    return synth.harmonic_amplitudes(int(rng.integers(6, 16)), rng.uniform(lo, hi))


def _style(rng: np.random.Generator, style: Optional[np.random.Generator]) -> np.random.Generator:
    return rng if style is None else style


# ---------------------------------------------------------------- kaggle5's five classes


def dog_bark(rng: np.random.Generator, n: int, sr: int, style: Optional[np.random.Generator] = None) -> np.ndarray:
    """1-4 short harmonic barks, pitch falling fast, noisy attack, irregular spacing."""
    s = _style(rng, style)
    out = np.zeros(n)
    f0 = _f0(s, 250.0, 900.0)
    count = int(rng.integers(1, 5))
    seconds = n / sr
    width = s.uniform(0.08, 0.3)
    onsets = synth.random_onsets(rng, count, seconds, width + 0.05, s.uniform(0.05, 0.4))
    for onset in onsets:
        m = int(rng.uniform(0.8, 1.2) * width * sr)
        if m < 16:
            continue
        base = f0 * rng.uniform(0.9, 1.1)
        start, end = base * rng.uniform(1.2, 1.7), base * rng.uniform(0.55, 0.8)
        contour = synth.glide_contour(m, sr, start, end, rng.uniform(0.03, 0.12))
        tone = synth.harmonic_tone(contour, sr, _harmonics(rng), rng)
        hiss = synth.bandpass_noise(rng, m, sr, base, base * rng.uniform(4, 10), "pink")
        attack = synth.exp_decay(m, sr, rng.uniform(0.01, 0.03))  # noisy onset, then tonal
        tonal = tone * synth.adsr(m, sr, 0.005, width * 0.3, 0.6, width * 0.4)
        body = tonal + rng.uniform(0.5, 1.0) * hiss * attack
        synth.add_at(out, body, int(onset * sr), rng.uniform(0.6, 1.0))
    return out


def siren(rng: np.random.Generator, n: int, sr: int, style: Optional[np.random.Generator] = None) -> np.ndarray:
    """A continuous harmonic tone with a slow wail or a two-tone hi-lo alternation."""
    s = _style(rng, style)
    f0 = _f0(s, 350.0, 1300.0)
    if s.random() < 0.6:
        depth, rate = s.uniform(0.12, 0.35), s.uniform(0.25, 2.5)
        contour = synth.sine_contour(n, sr, f0, depth, rate, rng.uniform(0, 2 * np.pi))
    else:
        ratio = s.uniform(1.15, 1.45)
        period = s.uniform(0.25, 0.7)
        contour = synth.step_contour(n, sr, [f0, f0 * ratio], period, glide=0.02)
        contour = np.roll(contour, int(rng.integers(0, max(1, int(period * sr)))))
    tone = synth.harmonic_tone(contour, sr, _harmonics(s, -12.0, -4.0), rng)
    return tone * synth.fade(n, sr, rng.uniform(0.01, 0.3), rng.uniform(0.01, 0.3))


def car_horn(rng: np.random.Generator, n: int, sr: int, style: Optional[np.random.Generator] = None) -> np.ndarray:
    """1-3 steady honks of two close tones (about a third apart) with rich harmonics."""
    s = _style(rng, style)
    out = np.zeros(n)
    f0 = _f0(s, 220.0, 700.0)
    ratio = s.uniform(1.18, 1.34)
    amps = _harmonics(s, -8.0, -2.0)
    count = int(rng.integers(1, 4))
    seconds = n / sr
    width = min(s.uniform(0.15, 1.0), seconds / count * 0.8)
    for onset in synth.random_onsets(rng, count, seconds, width, s.uniform(0.08, 0.3)):
        m = int(rng.uniform(0.85, 1.15) * width * sr)
        if m < 16:
            continue
        a = synth.harmonic_tone(synth.constant_contour(m, f0), sr, amps, rng)
        b = synth.harmonic_tone(synth.constant_contour(m, f0 * ratio), sr, amps, rng)
        pair = a + rng.uniform(0.6, 1.0) * b
        honk = pair * synth.adsr(m, sr, 0.008, 0.03, rng.uniform(0.7, 0.95), 0.03)
        synth.add_at(out, honk, int(onset * sr), rng.uniform(0.7, 1.0))
    return out


def drilling(rng: np.random.Generator, n: int, sr: int, style: Optional[np.random.Generator] = None) -> np.ndarray:
    """Band-passed noise plus a harmonic whine, chopped at 15-60 Hz, in 1-3 bursts."""
    s = _style(rng, style)
    f0 = _f0(s)
    centre = f0 * s.uniform(1.5, 5.0)
    low, high = centre / s.uniform(1.5, 3.0), centre * s.uniform(1.5, 3.0)
    noise = synth.bandpass_noise(rng, n, sr, low, high, "white")
    contour = synth.sine_contour(n, sr, f0, s.uniform(0.0, 0.03), s.uniform(0.5, 3.0))
    whine = synth.harmonic_tone(contour, sr, _harmonics(s), rng)
    source = synth.normalize_rms(whine, 1.0) * s.uniform(0.3, 1.0) + noise * s.uniform(0.3, 1.0)
    rate, depth, phase = s.uniform(15.0, 60.0), s.uniform(0.6, 1.0), rng.uniform(0, 2 * np.pi)
    chopped = synth.amplitude_modulation(source, sr, rate, depth, phase, str(s.choice(["sine", "square"])))
    seconds = n / sr
    count = int(rng.integers(1, 4))
    width = min(s.uniform(0.4, 2.0), seconds / count * 0.85)
    onsets = synth.random_onsets(rng, count, seconds, width, s.uniform(0.1, 0.4))
    lengths = [width * rng.uniform(0.8, 1.1) for _ in onsets]
    gate = synth.burst_envelope(n, sr, onsets, lengths, ramp=s.uniform(0.01, 0.08))
    return chopped * gate


def engine_idling(rng: np.random.Generator, n: int, sr: int, style: Optional[np.random.Generator] = None) -> np.ndarray:
    """Steady firing pulses (10-40 Hz) exciting a resonance, over a harmonic rumble."""
    s = _style(rng, style)
    rate = s.uniform(10.0, 40.0)
    resonance = _f0(s, 120.0, 700.0) * s.uniform(0.8, 2.0)
    m = int(s.uniform(0.6, 0.95) * sr / rate)
    thump = synth.bandpass_noise(rng, m, sr, resonance / 1.6, resonance * 1.6, "pink")
    pulse = thump * synth.exp_decay(m, sr, s.uniform(0.004, 0.02))
    ring = synth.harmonic_tone(synth.constant_contour(m, resonance), sr, [1.0, 0.5, 0.25], rng)
    pulse += ring * synth.exp_decay(m, sr, s.uniform(0.005, 0.02))
    wobble = synth.sine_contour(n, sr, rate, s.uniform(0.0, 0.05), s.uniform(0.1, 0.8))
    pulses = synth.pulse_train(n, sr, wobble, pulse, jitter=s.uniform(0.0, 0.08), rng=rng)
    rumble_f0 = rate * s.choice([1.0, 2.0, 3.0, 4.0])
    rumble = synth.harmonic_tone(synth.constant_contour(n, rumble_f0), sr, _harmonics(s, -9.0, -3.0), rng)
    mix = synth.normalize_rms(pulses, 1.0) + s.uniform(0.1, 0.6) * synth.normalize_rms(rumble, 1.0)
    return mix * synth.fade(n, sr, rng.uniform(0.01, 0.3), rng.uniform(0.01, 0.3))


# ---------------------------------------------------------------- the other UrbanSound8K classes


def _partials(n: int, sr: int, freqs, amps, rng: np.random.Generator) -> np.ndarray:
    """Sum of steady sines at arbitrary (inharmonic) frequencies; those near Nyquist are dropped."""
    t = np.arange(n) / sr
    out = np.zeros(n)
    for f, a in zip(freqs, amps):
        phase = rng.uniform(0, 2 * np.pi)
        if f < 0.45 * sr:
            out += a * np.sin(2 * np.pi * f * t + phase)
    return out


def _formant_amplitudes(f0: float, formants, n_max: int = 12, top_hz: float = 4500.0) -> np.ndarray:
    """Harmonic amplitudes of a voice: each harmonic weighted by its distance to the formants."""
    k = np.arange(1, max(2, min(n_max, int(top_hz / f0))) + 1, dtype=np.float64)
    f = k * f0
    gain = np.full(len(k), 0.03)
    for centre, width, level in formants:
        gain += level * np.exp(-0.5 * ((f - centre) / width) ** 2)
    return gain / np.sqrt(k)


def air_conditioner(rng: np.random.Generator, n: int, sr: int, style: Optional[np.random.Generator] = None) -> np.ndarray:
    """Steady fan hiss with slow turbulence, a mains-locked compressor hum and a blade-pass tone."""
    s = _style(rng, style)
    low = s.uniform(40.0, 300.0)
    high = low + s.uniform(1500.0, 7000.0)
    hiss = synth.bandpass_noise(rng, n, sr, low, high, str(s.choice(["pink", "brown", "white"])))
    hiss = synth.amplitude_modulation(hiss, sr, s.uniform(0.1, 1.5), s.uniform(0.05, 0.3), rng.uniform(0, 2 * np.pi))
    mains = float(s.choice([50.0, 60.0]) * s.choice([1.0, 2.0]))
    hum_amps = synth.harmonic_amplitudes(int(s.integers(3, 9)), s.uniform(-9.0, -3.0))
    hum = synth.harmonic_tone(synth.constant_contour(n, mains), sr, hum_amps, rng)
    blade_f0 = _f0(s, 100.0, 600.0)
    blade_contour = synth.sine_contour(n, sr, blade_f0, s.uniform(0.0, 0.01), s.uniform(0.1, 1.0), rng.uniform(0, 2 * np.pi))
    blade = synth.harmonic_tone(blade_contour, sr, [1.0, s.uniform(0.1, 0.6), s.uniform(0.0, 0.3)], rng)
    mix = (synth.normalize_rms(hiss, 1.0)
           + s.uniform(0.15, 0.7) * synth.normalize_rms(hum, 1.0)
           + s.uniform(0.1, 0.5) * synth.normalize_rms(blade, 1.0))
    return mix * synth.fade(n, sr, rng.uniform(0.01, 0.2), rng.uniform(0.01, 0.2))


def children_playing(rng: np.random.Generator, n: int, sr: int, style: Optional[np.random.Generator] = None) -> np.ndarray:
    """2-4 high voices: syllabic bursts with lively intonation, formants, and the odd shriek."""
    s = _style(rng, style)
    out = np.zeros(n)
    seconds = n / sr
    register = _f0(s, 220.0, 480.0)
    for _ in range(int(s.integers(2, 5))):
        f0 = register * s.uniform(0.8, 1.3)
        formants = [(s.uniform(600.0, 1100.0), s.uniform(150.0, 300.0), 1.0),
                     (s.uniform(1500.0, 3200.0), s.uniform(250.0, 500.0), s.uniform(0.3, 0.8))]
        syllable_rate = s.uniform(3.0, 7.0)
        for _ in range(int(rng.integers(1, 4))):
            dur = min(rng.uniform(0.3, 1.4), seconds)
            m = int(dur * sr)
            if m < 64:
                continue
            base = f0 * rng.uniform(0.85, 1.2)
            contour = synth.sine_contour(m, sr, base, rng.uniform(0.03, 0.12), rng.uniform(1.5, 5.0), rng.uniform(0, 2 * np.pi))
            if rng.random() < 0.3:  # a shriek or a call: pitch rises across the utterance
                contour = contour * synth.sweep_contour(m, 1.0, rng.uniform(1.3, 1.8))
            tone = synth.harmonic_tone(contour, sr, _formant_amplitudes(base, formants), rng)
            voiced = synth.amplitude_modulation(tone, sr, syllable_rate * rng.uniform(0.8, 1.2), rng.uniform(0.6, 1.0),
                                                rng.uniform(0, 2 * np.pi))
            breath = synth.bandpass_noise(rng, m, sr, formants[1][0] * 0.7, formants[1][0] * 1.6, "pink")
            body = synth.normalize_rms(voiced, 1.0) + rng.uniform(0.05, 0.25) * breath
            body *= synth.adsr(m, sr, 0.03, 0.1, 0.8, min(0.15, dur / 3))
            synth.add_at(out, body, int(rng.uniform(0.0, max(seconds - dur, 0.0)) * sr), rng.uniform(0.4, 1.0))
    return out


def gun_shot(rng: np.random.Generator, n: int, sr: int, style: Optional[np.random.Generator] = None) -> np.ndarray:
    """1-3 shots (or a burst of automatic fire): a broadband crack, a low boom, a reverberant tail."""
    s = _style(rng, style)
    out = np.zeros(n)
    seconds = n / sr
    crack_low, crack_tau = s.uniform(300.0, 2000.0), s.uniform(0.003, 0.02)
    boom_low, boom_high, boom_tau = s.uniform(40.0, 120.0), s.uniform(300.0, 1200.0), s.uniform(0.03, 0.15)
    tail_high, tail_tau, tail_gain = s.uniform(800.0, 4000.0), s.uniform(0.1, 0.5), s.uniform(0.1, 0.4)
    boom_gain = s.uniform(0.3, 1.2)
    if s.random() < 0.25:
        period = s.uniform(0.06, 0.15)
        count = int(rng.integers(3, 9))
        first = rng.uniform(0.0, max(seconds - count * period, 0.0))
        onsets = [first + i * period * rng.uniform(0.95, 1.05) for i in range(count)]
    else:
        onsets = synth.random_onsets(rng, int(rng.integers(1, 4)), seconds, 0.15, s.uniform(0.2, 0.8))
    for onset in onsets:
        at, gain = int(onset * sr), rng.uniform(0.6, 1.0)
        # each part only as long as it takes to decay by about 40 dB
        for low, high, color, tau, attack, level in ((crack_low, 20000.0, "white", crack_tau, 0.0005, 1.0),
                                                     (boom_low, boom_high, "pink", boom_tau, 0.001, boom_gain),
                                                     (100.0, tail_high, "pink", tail_tau, 0.01, tail_gain)):
            m = max(16, min(n, int(5.0 * tau * sr)))
            part = synth.bandpass_noise(rng, m, sr, low, high, color) * synth.exp_decay(m, sr, tau, attack)
            synth.add_at(out, part, at, gain * level)
    return out


def jackhammer(rng: np.random.Generator, n: int, sr: int, style: Optional[np.random.Generator] = None) -> np.ndarray:
    """Rigid strikes at 12-30 Hz (click, metallic ring, thud) in 1-3 bursts over a compressor rumble."""
    s = _style(rng, style)
    rate = s.uniform(12.0, 30.0)
    ring_f = s.uniform(700.0, 3000.0)
    ratios = [1.0, s.uniform(1.4, 1.8), s.uniform(2.2, 2.9), s.uniform(3.3, 4.2)]
    ring_amps = [1.0, s.uniform(0.3, 0.8), s.uniform(0.2, 0.6), s.uniform(0.1, 0.4)]
    click_tau, ring_tau, thud_tau = s.uniform(0.001, 0.004), s.uniform(0.005, 0.025), s.uniform(0.01, 0.03)
    thud_f = s.uniform(60.0, 200.0)
    m = max(16, int(0.9 * sr / rate))
    click = synth.colored_noise(rng, m, "white") * synth.exp_decay(m, sr, click_tau, 0.0003)
    ring = _partials(m, sr, [ring_f * r for r in ratios], ring_amps, rng) * synth.exp_decay(m, sr, ring_tau, 0.0005)
    thud = _partials(m, sr, [thud_f], [1.0], rng) * synth.exp_decay(m, sr, thud_tau, 0.001)
    strike = click + s.uniform(0.3, 1.0) * ring + s.uniform(0.3, 1.0) * thud
    strikes = synth.pulse_train(n, sr, rate, strike, jitter=s.uniform(0.01, 0.06), rng=rng)
    strikes = synth.amplitude_modulation(strikes, sr, s.uniform(0.5, 3.0), 0.25, rng.uniform(0, 2 * np.pi))
    seconds = n / sr
    count = int(rng.integers(1, 4))
    width = min(s.uniform(0.6, 3.0), seconds / count * 0.9)
    onsets = synth.random_onsets(rng, count, seconds, width, s.uniform(0.15, 0.5))
    lengths = [width * rng.uniform(0.8, 1.1) for _ in onsets]
    gate = synth.burst_envelope(n, sr, onsets, lengths, ramp=0.01)
    rumble = synth.bandpass_noise(rng, n, sr, 30.0, s.uniform(200.0, 600.0), "brown")
    return synth.normalize_rms(strikes * gate, 1.0) + s.uniform(0.05, 0.3) * rumble


_SCALES = ((0, 2, 4, 7, 9), (0, 3, 5, 7, 10), (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10))


def _note(m: int, sr: int, f0: float, amps, pluck: bool, rng: np.random.Generator) -> np.ndarray:
    tone = synth.harmonic_tone(synth.constant_contour(m, f0), sr, amps, rng)
    if pluck:
        return tone * synth.exp_decay(m, sr, m / sr * 0.35, 0.003)
    return tone * synth.adsr(m, sr, 0.02, 0.05, 0.8, min(0.05, m / sr / 3))


def _drums(n: int, sr: int, beat: float, start: float, kit: tuple[bool, bool], rng: np.random.Generator) -> np.ndarray:
    """Kick on the beat, snare on the back beat, hi-hat on the off-beats (as far as `kit` has them)."""
    out = np.zeros(n)
    kick_m, hat_m = int(0.25 * sr), int(0.06 * sr)
    kick = synth.harmonic_tone(synth.glide_contour(kick_m, sr, 140.0, 50.0, 0.03), sr, [1.0], rng)
    kick *= synth.exp_decay(kick_m, sr, 0.08)
    snare = synth.bandpass_noise(rng, kick_m, sr, 1000.0, 8000.0, "white") * synth.exp_decay(kick_m, sr, 0.05)
    hat = synth.bandpass_noise(rng, hat_m, sr, 6000.0, 16000.0, "white") * synth.exp_decay(hat_m, sr, 0.015)
    t, i = start, 0
    while t < n / sr:
        synth.add_at(out, snare if (kit[0] and i % 2) else kick, int(t * sr), rng.uniform(0.7, 1.0))
        if kit[1]:
            synth.add_at(out, hat, int((t + beat / 2) * sr), rng.uniform(0.3, 0.6))
        t, i = t + beat, i + 1
    return out


def street_music(rng: np.random.Generator, n: int, sr: int, style: Optional[np.random.Generator] = None) -> np.ndarray:
    """A tune on a beat: melody notes from a scale, an optional bass line and drums."""
    s = _style(rng, style)
    seconds = n / sr
    beat = 60.0 / s.uniform(80.0, 160.0)
    key = _f0(s, 130.0, 520.0)
    scale = _SCALES[int(s.integers(len(_SCALES)))]
    pluck = bool(s.random() < 0.5)
    amps = _harmonics(s, -12.0, -4.0)
    with_bass, with_drums = bool(s.random() < 0.7), bool(s.random() < 0.6)
    kit = (bool(s.random() < 0.7), bool(s.random() < 0.7))
    start = rng.uniform(0.0, min(beat, seconds / 2))
    out = np.zeros(n)
    t, degree = start, int(rng.integers(0, len(scale)))
    while t < seconds:
        dur = beat * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
        if rng.random() > 0.15 or t == start:  # else a rest; never before the first note
            octave, step = divmod(degree, len(scale))
            f = key * 2.0 ** (octave + scale[step] / 12.0)
            m = int(dur * sr * 1.05)
            synth.add_at(out, _note(m, sr, f, amps, pluck, rng), int(t * sr), rng.uniform(0.6, 1.0))
        degree = int(np.clip(degree + rng.integers(-2, 3), -len(scale), 2 * len(scale) - 1))
        t += dur
    out = synth.normalize_rms(out, 1.0)
    if with_bass:
        bass = np.zeros(n)
        t = start
        while t < seconds:
            f = key / 2.0 * float(rng.choice([1.0, 1.0, 1.5, 2.0 ** (5 / 12)]))
            m = int(2 * beat * sr)
            synth.add_at(bass, _note(m, sr, f, [1.0, 0.5, 0.25], True, rng), int(t * sr))
            t += 2 * beat
        out += s.uniform(0.3, 0.8) * synth.normalize_rms(bass, 1.0)
    if with_drums:
        out += s.uniform(0.3, 0.8) * synth.normalize_rms(_drums(n, sr, beat, start, kit, rng), 1.0)
    return out


RECIPES: dict[str, Recipe] = {
    "air_conditioner": air_conditioner,
    "car_horn": car_horn,
    "children_playing": children_playing,
    "dog_bark": dog_bark,
    "drilling": drilling,
    "engine_idling": engine_idling,
    "gun_shot": gun_shot,
    "jackhammer": jackhammer,
    "siren": siren,
    "street_music": street_music,
}
