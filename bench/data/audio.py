"""Decoding audio files with soundfile, and refusing bad ones with a clear reason.

torchaudio 2.9+ hands `torchaudio.load` to torchcodec and FFmpeg; soundfile
(libsndfile) reads WAV (8/16/24/32-bit PCM, float), FLAC, AIFF, OGG and MP3 without
either, so it is the one decoder bench uses.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf


class BadAudioError(ValueError):
    """An audio file cannot be used. The message names the file and what to do."""

    def __init__(self, path: Path | str, reason: str, hint: str = "") -> None:
        self.path = Path(path)
        self.reason = reason
        hint = hint or "replace or remove the file, or run with skip_bad=true to skip bad files"
        super().__init__(f"{self.path}: {reason}; {hint}")


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray  # (channels, frames) float32
    sample_rate: int
    subtype: str
    declared_frames: int

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])


def decode(path: Path | str) -> Decoded:
    """Read a whole file as float32 (channels, frames), checking it on the way."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        if path.is_symlink():
            raise BadAudioError(path, f"a link to {os.readlink(path)}, which does not exist",
                                "fix or remove the link") from None
        raise BadAudioError(path, "file not found", "check the path") from None
    except OSError as exc:
        raise BadAudioError(path, f"cannot be read ({exc.strerror or exc})", "check the path and its permissions") from None
    if size == 0:
        raise BadAudioError(path, "file is empty (0 bytes)")
    try:
        info = sf.info(str(path))
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, EOFError, OSError) as exc:
        raise BadAudioError(path, f"not a readable audio file ({exc})") from None
    samples = np.ascontiguousarray(data.T)
    declared = _declared_frames(path, info)
    # truncation first: a file cut right after its header decodes to 0 frames, and
    # "truncated" is the true reason, not "no audio"
    if declared > samples.shape[1]:
        raise BadAudioError(
            path,
            f"truncated: the header declares {declared} frames but only {samples.shape[1]}"
            " could be decoded",
        )
    if samples.shape[1] == 0:
        raise BadAudioError(path, "file has a header but no audio frames")
    if not np.isfinite(samples).all():
        bad = int((~np.isfinite(samples)).sum())
        raise BadAudioError(path, f"{bad} samples are NaN or infinite")
    return Decoded(samples, int(sr), info.subtype, declared)


# Subtypes where one frame is exactly `block align` bytes (WAV) or where the AIFF
# COMM chunk counts frames; for compressed subtypes the header cannot be checked
# this way and libsndfile's own frame count is used.
_FIXED_FRAME = frozenset(
    {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"}
)


def _declared_frames(path: Path, info: sf._SoundFileInfo) -> int:
    """Frames promised by the header; for WAV/RF64/W64/AIFF read from the header itself.

    libsndfile sizes a truncated WAV or AIFF by the bytes present and returns fewer
    frames without complaint, so the header's own length is the only honest witness.
    """
    if info.subtype in _FIXED_FRAME:
        try:
            declared = _header_frames(path)
        except (OSError, struct.error):
            declared = None
        if declared is not None:
            return declared
    return int(info.frames)


def _header_frames(path: Path) -> int | None:
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12:
            return None
        if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
            return _riff_frames(fh, rf64=head[:4] != b"RIFF")
        if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
            return _aiff_frames(fh)
        if head[:4] == b"riff":
            fh.seek(0)
            return _w64_frames(fh)
    return None


def _riff_frames(fh, rf64: bool) -> int | None:
    frame_bytes = 0
    ds64_data: int | None = None
    while True:
        chunk = fh.read(8)
        if len(chunk) < 8:
            return None
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"ds64":
            body = fh.read(size)
            if len(body) >= 16:
                ds64_data = struct.unpack("<Q", body[8:16])[0]
            fh.seek(size % 2, 1)
            continue
        if cid == b"fmt ":
            fmt = fh.read(size)
            if len(fmt) >= 14:
                frame_bytes = struct.unpack("<H", fmt[12:14])[0]  # block align
            fh.seek(size % 2, 1)
            continue
        if cid == b"data":
            if rf64 and size == 0xFFFFFFFF:
                size = ds64_data if ds64_data is not None else 0
            # 0 and 0xFFFFFFFF mean "unknown" in streamed WAV files
            if size in (0, 0xFFFFFFFF) or not frame_bytes:
                return None
            return size // frame_bytes
        fh.seek(size + size % 2, 1)


def _w64_frames(fh) -> int | None:
    head = fh.read(40)  # riff GUID, u64 size, wave GUID
    if len(head) < 40 or head[24:28] != b"wave":
        return None
    frame_bytes = 0
    while True:
        chunk = fh.read(24)
        if len(chunk) < 24:
            return None
        cid, size = chunk[:4], struct.unpack("<Q", chunk[16:24])[0]
        body = size - 24  # W64 sizes include the 24-byte chunk header
        if body < 0:
            return None
        if cid == b"fmt ":
            fmt = fh.read(body)
            if len(fmt) >= 14:
                frame_bytes = struct.unpack("<H", fmt[12:14])[0]
            fh.seek((-size) % 8, 1)
            continue
        if cid == b"data":
            if body <= 0 or not frame_bytes:
                return None
            return body // frame_bytes
        fh.seek(body + (-size) % 8, 1)


def _aiff_frames(fh) -> int | None:
    while True:
        chunk = fh.read(8)
        if len(chunk) < 8:
            return None
        cid, size = chunk[:4], struct.unpack(">I", chunk[4:])[0]
        if cid == b"COMM":
            comm = fh.read(size)
            if len(comm) < 6:
                return None
            return struct.unpack(">I", comm[2:6])[0]  # numSampleFrames
        fh.seek(size + size % 2, 1)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels: the documented downmix (keeps level for correlated channels)."""
    return samples.mean(axis=0) if samples.shape[0] > 1 else samples[0]
