"""Where each real dataset comes from: the publisher's archives, their checksums, their layout.

Data only; `bench.data.fetch` does the downloading. A checksum is written as
"md5:<hex>" or "sha256:<hex>" and only when a published value was found (the
comment above each entry says where). None means "no published value": fetch then
prints the sha256 it computed and says that the file could not be verified.
"""

from __future__ import annotations

from dataclasses import dataclass

HASH_LENGTHS = {"md5": 32, "sha256": 64}


@dataclass(frozen=True)
class Archive:
    url: str
    filename: str  # name under DIR/.downloads, and the name looked up on a mirror
    size: int | None = None  # bytes, when published
    checksum: str | None = None  # "md5:<hex>" / "sha256:<hex>", when published
    unpack_into: str = ""  # folder of the unpacked tree (relative to DIR) the members go into
    note: str = ""  # shown beside a checksum mismatch


@dataclass(frozen=True)
class Dataset:
    name: str  # the task name (`bench run task=...`)
    title: str
    folder: str  # what appears in DIR once unpacked: the task's data_dir
    archives: tuple[Archive, ...]
    expected: tuple[str, ...]  # paths under `folder` that a correct unpack contains


_TUT_ZENODO = "https://zenodo.org/records/400515/files/"


def _tut(part: str, size: int, md5: str) -> Archive:
    name = f"TUT-acoustic-scenes-2017-development.{part}.zip"
    return Archive(_TUT_ZENODO + name + "?download=1", name, size, f"md5:{md5}")


DATASETS: dict[str, Dataset] = {
    # URL and md5: soundata, soundata/datasets/urbansound8k.py (REMOTES["all"]).
    # The size is not published there.
    "urbansound": Dataset(
        name="urbansound",
        title="UrbanSound8K",
        folder="UrbanSound8K",
        archives=(
            Archive(
                url="https://zenodo.org/records/1203745/files/UrbanSound8K.tar.gz?download=1",
                filename="UrbanSound8K.tar.gz",
                checksum="md5:9aa69802bbf37fb986f71ec1483a196e",
            ),
        ),
        expected=(*(f"audio/fold{i}" for i in range(1, 11)), "metadata/UrbanSound8K.csv"),
    ),
    # URL and md5: soundata, soundata/datasets/esc50.py (REMOTES["all"]). The same md5 is
    # given for "ESC-50-master.zip" by PaddlePaddle/Paddle, python/paddle/audio/datasets/
    # esc50.py (their mirror copy) and by the HEAR benchmark's ESC-50 task config.
    "esc50": Dataset(
        name="esc50",
        title="ESC-50",
        folder="ESC-50-master",
        archives=(
            Archive(
                url="https://github.com/karoldvl/ESC-50/archive/master.zip",
                filename="ESC-50-master.zip",
                checksum="md5:7771e4b9d86d0945acce719c7a59305a",
                note=("GitHub builds this zip from the repository's master branch on request; "
                      "if the repository has changed since the checksum was published, the "
                      "download differs even though it is genuine. Compare the files with "
                      "https://github.com/karolpiczak/ESC-50 and, if you trust them, update "
                      "the checksum in bench/data/sources.py."),
            ),
        ),
        expected=("audio", "meta/esc50.csv"),
    ),
    # URLs, sizes and md5s: DCASE-REPO/dcase_util, dcase_util/datasets/tut.py
    # (TUTAcousticScenes_2017_DevelopmentSet.package_list), Zenodo record 400515.
    # There is no separate evaluation_setup archive: evaluation_setup/ and meta.txt
    # come in the meta zip; every part unpacks under TUT-acoustic-scenes-2017-development/.
    "scenes": Dataset(
        name="scenes",
        title="TUT Acoustic Scenes 2017 (development set)",
        folder="TUT-acoustic-scenes-2017-development",
        archives=(
            _tut("doc", 54796, "2065495aaf3f1103e795c9899e2af1df"),
            _tut("meta", 104321, "9007fd4772d816590c5db5f5e9568f5d"),
            _tut("error", 1432, "802c700b021769e52a2c1e3b9c117a1b"),
            _tut("audio.1", 1071445248, "251325a9afaaad0326ad1c57f57d514a"),
            _tut("audio.2", 1073453613, "c26861e05147dc319b4250eb103d9d99"),
            _tut("audio.3", 1073077819, "a4815775f8a5e629179726ee4cd4f55a"),
            _tut("audio.4", 1072822038, "1732b03afe8c53ef8bba80ba14766e57"),
            _tut("audio.5", 1072644652, "611be754a0c951185c6ae4b7643c19a0"),
            _tut("audio.6", 1072667888, "165a201db800d3ea76fce5a9c2bd97d7"),
            _tut("audio.7", 1073417661, "c7d79db84264401c0f8680dcc36013ad"),
            _tut("audio.8", 1072381222, "35043f25123439392338c790494c7a19"),
            _tut("audio.9", 1072087738, "0805dcf5d8e6871dc9610182b2efb93a"),
            _tut("audio.10", 1046262120, "5df83a191295a04e290b125c634e13e7"),
        ),
        expected=("audio", "meta.txt", "evaluation_setup"),
    ),
    # URLs: the publisher's page https://cvml.unige.ch/databases/DEAM/ (the same links are
    # used by many public download scripts). No checksum or size is published, so both are
    # None and fetch reports the sha256 it computed. The zips hold MEMD_audio/ and
    # annotations/ at their top level; each is unpacked into the subfolder that
    # PROTOCOLS.md names (DEAM/DEAM_audio/MEMD_audio, DEAM/DEAM_Annotations/annotations).
    "deam": Dataset(
        name="deam",
        title="DEAM (MediaEval Database for Emotional Analysis in Music)",
        folder="DEAM",
        archives=(
            Archive(
                url="https://cvml.unige.ch/databases/DEAM/DEAM_audio.zip",
                filename="DEAM_audio.zip",
                unpack_into="DEAM/DEAM_audio",
            ),
            Archive(
                url="https://cvml.unige.ch/databases/DEAM/DEAM_Annotations.zip",
                filename="DEAM_Annotations.zip",
                unpack_into="DEAM/DEAM_Annotations",
            ),
        ),
        expected=("DEAM_audio/MEMD_audio", "DEAM_Annotations/annotations"),
    ),
}


def split_checksum(checksum: str) -> tuple[str, str]:
    """'md5:abc…' -> ('md5', 'abc…'); raises ValueError on anything else."""
    algo, sep, digest = checksum.partition(":")
    if not sep or algo not in HASH_LENGTHS:
        raise ValueError(f"checksum {checksum!r} is not 'md5:<hex>' or 'sha256:<hex>'")
    if len(digest) != HASH_LENGTHS[algo] or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"checksum {checksum!r}: expected {HASH_LENGTHS[algo]} lowercase hex digits")
    return algo, digest
