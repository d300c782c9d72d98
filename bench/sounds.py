"""Class-typical sound recipes shared by the synthetic generators of several tasks.

A recipe is `recipe(rng, n, sr, style=None) -> np.ndarray`: `n` samples at `sr` Hz of
one class's sound, dry (no background, no level normalisation), built from the
primitives in `bench.synth`. Generators add the background, the timbre and the
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

from bench import synth

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
