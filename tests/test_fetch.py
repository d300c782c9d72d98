"""`bench data fetch`: download, resume, verify and unpack against a real local HTTP server."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import tarfile
import threading
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.data import fetch as fetch_mod
from bench.data.fetch import DOWNLOADS, MIRROR_ENV, fetch_main
from bench.data.sources import DATASETS, HASH_LENGTHS, Archive, split_checksum

# --- a local server that can cut connections and ignore Range ---------------------------


class ServerState:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []  # (file, Range header)
        self.cut_plan: list[int] = []  # per request, in order: bytes sent before cutting
        self.budget: int | None = None  # bytes left in total; then every response is cut at once
        self.ignore_range = False


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        st: ServerState = self.server.state
        name = urllib.parse.unquote(urllib.parse.urlparse(self.path).path).lstrip("/")
        rng = self.headers.get("Range")
        st.requests.append((name, rng))
        data = st.files.get(name)
        if data is None:
            self.send_error(404)
            return
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and not st.ignore_range:
            start = int(m[1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        n = len(body)
        if st.cut_plan:
            n = min(n, st.cut_plan.pop(0))
        if st.budget is not None:
            n = min(n, st.budget)
            st.budget -= n
        self.wfile.write(body[:n])
        self.wfile.flush()
        self.close_connection = True  # with n < len(body): the client sees a short body

    def log_message(self, *args) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # the client hanging up on a cut response is expected here


@pytest.fixture
def server():
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    httpd.state = ServerState()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    httpd.state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd.state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(fetch_mod, "BACKOFF_S", 0.01)
    monkeypatch.setattr(fetch_mod, "TIMEOUT_S", 5.0)
    monkeypatch.delenv(MIRROR_ENV, raising=False)


# --- small archives with the publishers' layouts --------------------------------------


def noise(n: int, seed: int) -> bytes:
    """Incompressible bytes, so archives are big enough to be cut part-way."""
    out, block = bytearray(), hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def make_tar_gz(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


ESC50_MEMBERS = {
    "ESC-50-master/audio/1-100038-A-14.wav": noise(30_000, 1),
    "ESC-50-master/audio/1-100210-A-36.wav": noise(30_000, 2),
    "ESC-50-master/meta/esc50.csv": b"filename,fold,target,category,esc10,src_file,take\n",
    "ESC-50-master/README.md": b"ESC-50\n",
}
US8K_MEMBERS = {
    **{f"UrbanSound8K/audio/fold{i}/100{i}-3-0-0.wav": noise(2_000, i) for i in range(1, 11)},
    "UrbanSound8K/metadata/UrbanSound8K.csv": b"slice_file_name,fsID,start,end,salience,fold,classID,class\n",
}


def publish(server: ServerState, monkeypatch, name: str, files: dict[str, bytes], *,
            checksum: str | None = "md5", size: bool = True, via_mirror: bool = False,
            unpack_into: dict[str, str] | None = None) -> None:
    """Serve `files` and point dataset `name` at them, with their true size and checksum."""
    archives = []
    for filename, data in files.items():
        server.files[filename] = data
        digest = f"{checksum}:{hashlib.new(checksum, data).hexdigest()}" if checksum else None
        url = (f"https://publisher.invalid/files/{filename}?download=1" if via_mirror
               else f"{server.url}/{filename}")
        archives.append(Archive(url, filename, len(data) if size else None, digest,
                                (unpack_into or {}).get(filename, "")))
    monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name], archives=tuple(archives)))
    if via_mirror:
        monkeypatch.setenv(MIRROR_ENV, server.url + "/")


def run(capsys, *args: str) -> tuple[int, str, str]:
    rc = fetch_main([*args, "--no-progress"])
    out = capsys.readouterr()
    return rc, out.out, out.err


def leftovers(root: Path) -> list[str]:
    """Temporary folders or partial files anywhere under `root`."""
    return [str(p) for p in root.rglob("*") if p.name.startswith(".tmp-") or p.name.endswith(".part")]


# --- the sources table ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_sources_table_is_well_formed(name):
    ds = DATASETS[name]
    assert ds.name == name and ds.archives and ds.expected and ds.folder
    filenames = [a.filename for a in ds.archives]
    assert len(set(filenames)) == len(filenames)
    for a in ds.archives:
        assert urllib.parse.urlparse(a.url).scheme == "https" and a.filename
        assert "/" not in a.filename and not a.filename.endswith(".part")
        assert a.size is None or (isinstance(a.size, int) and a.size > 0)
        if a.checksum is not None:
            algo, digest = split_checksum(a.checksum)
            assert len(digest) == HASH_LENGTHS[algo] and re.fullmatch(r"[0-9a-f]+", digest)
        assert not a.unpack_into or a.unpack_into.split("/")[0] == ds.folder
    for p in ds.expected:
        assert not p.startswith("/") and ".." not in p.split("/")


def test_split_checksum_refuses_malformed_values():
    for bad in ("md5:abc", "crc:" + "0" * 8, "0" * 32, "sha256:" + "G" * 64):
        with pytest.raises(ValueError):
            split_checksum(bad)


# --- successful fetches -----------------------------------------------------------------


def test_fetch_zip_through_mirror_unpacks_and_cleans_up(server, monkeypatch, tmp_path, capsys):
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": make_zip(ESC50_MEMBERS)},
            via_mirror=True)
    stale = tmp_path / ".tmp-unpack-ESC-50-master-killed"  # a run killed while unpacking
    (stale / "ESC-50-master").mkdir(parents=True)
    rc, out, err = run(capsys, "esc50", "--to", str(tmp_path))
    assert rc == 0, err
    dest = tmp_path / "ESC-50-master"
    for member, data in ESC50_MEMBERS.items():
        assert (tmp_path / member).read_bytes() == data
    assert server.requests == [("ESC-50-master.zip", None)]  # the mirror, not publisher.invalid
    assert not (tmp_path / DOWNLOADS).exists()  # archives removed without --keep-archives
    assert leftovers(tmp_path) == []
    assert f"bench data check task=esc50 data_dir={dest}" in out
    assert f"bench run task=esc50 data_dir={dest}" in out


def test_fetch_tar_gz_keeps_archives_and_never_downloads_twice(server, monkeypatch, tmp_path, capsys):
    publish(server, monkeypatch, "urbansound", {"UrbanSound8K.tar.gz": make_tar_gz(US8K_MEMBERS)},
            checksum="sha256")
    rc, out, err = run(capsys, "urbansound", "--to", str(tmp_path), "--keep-archives")
    assert rc == 0, err
    assert sorted(p.name for p in (tmp_path / "UrbanSound8K" / "audio").iterdir()) == \
        sorted(f"fold{i}" for i in range(1, 11))
    assert (tmp_path / DOWNLOADS / "UrbanSound8K.tar.gz").read_bytes() == server.files["UrbanSound8K.tar.gz"]

    # dataset there: nothing happens
    rc, out, _ = run(capsys, "urbansound", "--to", str(tmp_path))
    assert rc == 0 and "already at" in out and len(server.requests) == 1
    # dataset gone, verified archive kept: unpacked again without a download
    import shutil
    shutil.rmtree(tmp_path / "UrbanSound8K")
    rc, out, err = run(capsys, "urbansound", "--to", str(tmp_path))
    assert rc == 0, err
    assert "already downloaded and verified" in out and len(server.requests) == 1
    assert (tmp_path / "UrbanSound8K" / "metadata" / "UrbanSound8K.csv").exists()
    assert leftovers(tmp_path) == []


def test_multipart_dataset_unpacks_into_one_tree(server, monkeypatch, tmp_path, capsys):
    top = "TUT-acoustic-scenes-2017-development"
    parts = {
        f"{top}.meta.zip": make_zip({f"{top}/meta.txt": b"audio/a.wav\tbus\ta001\n",
                                     f"{top}/evaluation_setup/fold1_train.txt": b"audio/a.wav\tbus\n"}),
        f"{top}.audio.1.zip": make_zip({f"{top}/audio/a.wav": noise(5_000, 3)}),
        f"{top}.audio.2.zip": make_zip({f"{top}/audio/b.wav": noise(5_000, 4)}),
    }
    publish(server, monkeypatch, "scenes", parts)
    rc, out, err = run(capsys, "scenes", "--to", str(tmp_path))
    assert rc == 0, err
    dest = tmp_path / top
    assert sorted(p.name for p in (dest / "audio").iterdir()) == ["a.wav", "b.wav"]
    assert (dest / "meta.txt").is_file() and (dest / "evaluation_setup" / "fold1_train.txt").is_file()
    assert f"task=scenes data_dir={dest}" in out and leftovers(tmp_path) == []


def test_unverifiable_archives_report_their_sha256(server, monkeypatch, tmp_path, capsys):
    audio = make_zip({"MEMD_audio/2.mp3": noise(3_000, 5)})
    notes = make_zip({"annotations/annotations averaged per song/song_level/x.csv": b"song_id, valence_mean\n"})
    publish(server, monkeypatch, "deam", {"DEAM_audio.zip": audio, "DEAM_Annotations.zip": notes},
            checksum=None, size=False,
            unpack_into={"DEAM_audio.zip": "DEAM/DEAM_audio", "DEAM_Annotations.zip": "DEAM/DEAM_Annotations"})
    rc, out, err = run(capsys, "deam", "--to", str(tmp_path))
    assert rc == 0, err
    assert (tmp_path / "DEAM" / "DEAM_audio" / "MEMD_audio" / "2.mp3").is_file()
    assert (tmp_path / "DEAM" / "DEAM_Annotations" / "annotations").is_dir()
    assert f"sha256 {hashlib.sha256(audio).hexdigest()}" in out
    assert "could not be verified" in out


def test_local_folder_mirror(monkeypatch, tmp_path, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    data = make_zip(ESC50_MEMBERS)
    (mirror / "ESC-50-master.zip").write_bytes(data)
    a = Archive("https://publisher.invalid/master.zip", "ESC-50-master.zip", len(data),
                "md5:" + hashlib.md5(data).hexdigest())
    monkeypatch.setitem(DATASETS, "esc50", dataclasses.replace(DATASETS["esc50"], archives=(a,)))
    monkeypatch.setenv(MIRROR_ENV, mirror.as_uri())  # file:// works; a plain path too
    rc, _, err = run(capsys, "esc50", "--to", str(tmp_path / "data"))
    assert rc == 0, err
    assert (tmp_path / "data" / "ESC-50-master" / "meta" / "esc50.csv").exists()


# --- broken connections and resuming ---------------------------------------------------


def test_broken_connection_resumes_with_range(server, monkeypatch, tmp_path, capsys):
    data = make_zip(ESC50_MEMBERS)
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": data})
    server.cut_plan = [10_000, 10_000, 10_000]  # three short responses, then whole ones
    rc, out, err = run(capsys, "esc50", "--to", str(tmp_path), "--keep-archives")
    assert rc == 0, err
    ranges = [r for _, r in server.requests]
    assert ranges == [None, "bytes=10000-", "bytes=20000-", "bytes=30000-"]
    assert (tmp_path / DOWNLOADS / "ESC-50-master.zip").read_bytes() == data
    assert "retrying" in out


def test_server_ignoring_range_restarts_from_zero(server, monkeypatch, tmp_path, capsys):
    data = make_zip(ESC50_MEMBERS)
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": data})
    server.ignore_range = True
    server.cut_plan = [25_000]
    rc, out, err = run(capsys, "esc50", "--to", str(tmp_path), "--keep-archives")
    assert rc == 0, err
    assert [r for _, r in server.requests] == [None, "bytes=25000-"]  # asked; got 200 instead
    assert "ignored the resume request" in out
    assert (tmp_path / DOWNLOADS / "ESC-50-master.zip").read_bytes() == data


def test_interrupted_run_leaves_part_that_the_next_run_resumes(server, monkeypatch, tmp_path, capsys):
    data = make_zip(ESC50_MEMBERS)
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": data})
    server.budget = 12_345  # then the connection breaks at once, every time
    rc, _, err = run(capsys, "esc50", "--to", str(tmp_path))
    part = tmp_path / DOWNLOADS / "ESC-50-master.zip.part"
    assert rc == 1
    assert server.url in err and "run the same command again to resume" in err
    assert part.read_bytes() == data[:12_345]
    assert not (tmp_path / "ESC-50-master").exists()
    failed = len(server.requests)
    assert failed == 1 + fetch_mod.RETRIES  # the first request, then RETRIES retries that got nothing

    server.budget = None
    rc, out, err = run(capsys, "esc50", "--to", str(tmp_path))
    assert rc == 0, err
    assert server.requests[failed] == ("ESC-50-master.zip", "bytes=12345-")
    assert "resuming ESC-50-master.zip from byte 12,345" in out
    assert (tmp_path / "ESC-50-master" / "meta" / "esc50.csv").exists() and leftovers(tmp_path) == []


# --- verification failures --------------------------------------------------------------


def test_checksum_mismatch_deletes_the_file_and_names_url_and_both_sums(server, monkeypatch, tmp_path, capsys):
    data = make_zip(ESC50_MEMBERS)
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": data})
    ds = DATASETS["esc50"]
    wrong = "md5:" + "0" * 32
    monkeypatch.setitem(DATASETS, "esc50", dataclasses.replace(
        ds, archives=(dataclasses.replace(ds.archives[0], checksum=wrong),)))
    rc, _, err = run(capsys, "esc50", "--to", str(tmp_path))
    assert rc == 1
    assert f"{server.url}/ESC-50-master.zip" in err
    assert "0" * 32 in err and hashlib.md5(data).hexdigest() in err
    assert list((tmp_path / DOWNLOADS).iterdir()) == [tmp_path / DOWNLOADS / ".lock-esc50"]
    assert not (tmp_path / "ESC-50-master").exists()


def test_size_different_from_published_fails_before_downloading(server, monkeypatch, tmp_path, capsys):
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": make_zip(ESC50_MEMBERS)})
    ds = DATASETS["esc50"]
    monkeypatch.setitem(DATASETS, "esc50", dataclasses.replace(
        ds, archives=(dataclasses.replace(ds.archives[0], size=123),)))
    rc, _, err = run(capsys, "esc50", "--to", str(tmp_path))
    assert rc == 1 and "published size is 123" in err and server.url in err
    assert leftovers(tmp_path) == [] and not (tmp_path / "ESC-50-master").exists()


def test_http_404_fails_at_once_naming_the_url(server, monkeypatch, tmp_path, capsys):
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": b"zip"})
    del server.files["ESC-50-master.zip"]
    rc, _, err = run(capsys, "esc50", "--to", str(tmp_path))
    assert rc == 1 and "HTTP 404" in err and f"{server.url}/ESC-50-master.zip" in err
    assert len(server.requests) == 1  # not retried


# --- unpack failures leave nothing behind -------------------------------------------------


@pytest.mark.parametrize("kind", ["zip-dotdot", "zip-absolute", "tar-dotdot", "tar-symlink"])
def test_path_traversal_members_are_refused(server, monkeypatch, tmp_path, capsys, kind):
    if kind == "zip-dotdot":
        data = make_zip({**ESC50_MEMBERS, "ESC-50-master/../../evil.txt": b"x"})
    elif kind == "zip-absolute":
        data = make_zip({**ESC50_MEMBERS, "/tmp/evil.txt": b"x"})
    elif kind == "tar-dotdot":
        data = make_tar_gz({**ESC50_MEMBERS, "../evil.txt": b"x"})
    else:
        data = make_tar_gz(ESC50_MEMBERS, links={"ESC-50-master/audio/evil": "../../../evil.txt"})
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": data})
    rc, _, err = run(capsys, "esc50", "--to", str(tmp_path / "data"))
    assert rc == 1 and "refusing" in err
    assert not (tmp_path / "data" / "ESC-50-master").exists()
    assert not (tmp_path / "evil.txt").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("damage", ["truncated", "bad-crc", "gzip-garbage"])
def test_corrupt_archive_leaves_no_dataset_and_no_temp_folder(server, monkeypatch, tmp_path, capsys, damage):
    if damage == "gzip-garbage":
        name, data = "UrbanSound8K.tar.gz", b"\x1f\x8b\x08\x00" + noise(5_000, 9)
        dataset = "urbansound"
    else:
        name, dataset = "ESC-50-master.zip", "esc50"
        data = bytearray(make_zip(ESC50_MEMBERS))
        if damage == "truncated":
            data = data[: len(data) // 2]
        else:  # flip a byte of the last member's data: the first members unpack before the error
            at = bytes(data).find(ESC50_MEMBERS["ESC-50-master/audio/1-100210-A-36.wav"][:64])
            data[at + 100] ^= 0xFF
        data = bytes(data)
    publish(server, monkeypatch, dataset, {name: data}, checksum=None)  # passes verification
    rc, _, err = run(capsys, dataset, "--to", str(tmp_path))
    assert rc == 1 and "cannot unpack" in err and "damaged" in err
    assert not (tmp_path / DATASETS[dataset].folder).exists()
    assert leftovers(tmp_path) == []


def test_archive_without_expected_layout_is_refused(server, monkeypatch, tmp_path, capsys):
    wrong = {k.replace("ESC-50-master/", "ESC-50-main/"): v for k, v in ESC50_MEMBERS.items()}
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": make_zip(wrong)})
    rc, _, err = run(capsys, "esc50", "--to", str(tmp_path))
    assert rc == 1 and "ESC-50-main" in err and "meta/esc50.csv" in err
    assert not (tmp_path / "ESC-50-master").exists() and leftovers(tmp_path) == []


# --- an existing dataset; names -------------------------------------------------------------


def test_existing_destination_is_left_alone(server, monkeypatch, tmp_path, capsys):
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": make_zip(ESC50_MEMBERS)})
    mine = tmp_path / "ESC-50-master" / "my-notes.txt"
    mine.parent.mkdir()
    mine.write_text("mine")
    rc, out, _ = run(capsys, "esc50", "--to", str(tmp_path))
    assert rc == 0 and "already at" in out and "--force" in out
    assert mine.read_text() == "mine" and server.requests == []
    assert sorted(p.name for p in mine.parent.iterdir()) == ["my-notes.txt"]


def test_force_replaces_the_existing_dataset(server, monkeypatch, tmp_path, capsys):
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": make_zip(ESC50_MEMBERS)})
    old = tmp_path / "ESC-50-master" / "old.txt"
    old.parent.mkdir()
    old.write_text("old")
    rc, _, err = run(capsys, "esc50", "--to", str(tmp_path), "--force")
    assert rc == 0, err
    assert not old.exists() and (tmp_path / "ESC-50-master" / "meta" / "esc50.csv").exists()
    assert leftovers(tmp_path) == []


def test_unknown_dataset_suggests_a_name(tmp_path, capsys):
    rc, _, err = run(capsys, "esc5", "--to", str(tmp_path))
    assert rc == 2 and "unknown dataset 'esc5'" in err and "did you mean 'esc50'" in err
    assert not any(tmp_path.iterdir())


def test_help_and_usage_errors_return_codes(capsys):
    assert fetch_main(["--help"]) == 0
    assert fetch_main(["esc50"]) == 2  # --to missing
    assert "--to" in capsys.readouterr().err


def test_a_force_run_killed_mid_swap_gets_the_old_copy_back(server, monkeypatch, tmp_path, capsys):
    publish(server, monkeypatch, "esc50", {"ESC-50-master.zip": make_zip(ESC50_MEMBERS)})
    old = tmp_path / ".tmp-old-ESC-50-master-killed"  # moved aside, new copy never moved in
    (old / "meta").mkdir(parents=True)
    (old / "meta" / "esc50.csv").write_text("old")
    (tmp_path / ".tmp-unpack-ESC-50-master-killed").mkdir()
    rc, out, err = run(capsys, "esc50", "--to", str(tmp_path))
    assert rc == 0, err
    assert (tmp_path / "ESC-50-master" / "meta" / "esc50.csv").read_text() == "old"
    assert "interrupted" in out and server.requests == [] and leftovers(tmp_path) == []
