"""Where a study lives: the storage URL, its checks, the heartbeat, and who may share it.

- SQLite (the default, `STUDIES_DIR/STUDY.db`): one worker. SQLite locks the whole
  file for every write, so several workers stall on "database is locked" and can miss
  heartbeats; `jobs=N` is refused on it and a live trial of another process is
  warned about.
- PostgreSQL (or MySQL): any number of workers on any number of machines.
- Journal file (`journal:FILE` on a disk every worker sees): several workers, but
  optuna keeps no heartbeat there, so a killed worker's trial stays RUNNING.

On SQLite and PostgreSQL every running trial beats a heartbeat; a trial silent for
the grace period is marked FAIL and a copy is queued to be retried.
"""

from __future__ import annotations

import importlib.util
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna

from bench.core.config import ConfigError

log = logging.getLogger("bench")

FORMS = "sqlite:///FILE, postgresql://USER:PASSWORD@HOST:PORT/DATABASE or journal:FILE"


@dataclass(frozen=True)
class StorageSpec:
    url: str  # what optuna is given (a journal file's path for kind journal)
    kind: str  # sqlite, postgresql, mysql or journal
    shown: str  # the URL with the password replaced by ***

    @property
    def multi_worker(self) -> bool:
        return self.kind != "sqlite"

    @property
    def heartbeat(self) -> bool:
        return self.kind != "journal"

    @property
    def sqlite_file(self) -> Path | None:
        return Path(self.url[len("sqlite:///"):]) if self.kind == "sqlite" else None


def default_storage(studies_dir: Path, study: str) -> str:
    return f"sqlite:///{(studies_dir / f'{study}.db').resolve()}"


def parse_storage(text: str | None, studies_dir: Path, study: str) -> StorageSpec:
    """Check a storage URL without connecting; errors name the key and the accepted forms."""
    if text is None:
        url = default_storage(studies_dir, study)
        return StorageSpec(url, "sqlite", url)
    if text.startswith("journal:"):
        path = text[len("journal:"):]
        if not path:
            raise ConfigError(f"storage={text}: the journal file is missing; write journal:FILE")
        resolved = str(Path(path).expanduser().resolve())
        return StorageSpec(resolved, "journal", f"journal:{resolved}")

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except ArgumentError:
        hint = f" (did you mean sqlite:///{text}?)" if text.endswith((".db", ".sqlite", ".sqlite3")) else ""
        raise ConfigError(f"storage={text}: not a storage URL{hint}; use {FORMS}") from None
    backend = url.get_backend_name()
    shown = url.render_as_string(hide_password=True)
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigError(f"storage={shown}: an in-memory SQLite study is lost when bench tune ends; give a file, sqlite:///FILE")
        path = Path(url.database).expanduser().resolve()
        return StorageSpec(f"sqlite:///{path}", "sqlite", f"sqlite:///{path}")
    if backend == "postgresql":
        if url.drivername == "postgresql" and not _has("psycopg2"):
            url = url.set(drivername="postgresql+psycopg")
        driver = {"postgresql+psycopg": "psycopg", "postgresql+psycopg2": "psycopg2"}.get(url.drivername)
        if driver and not _has(driver):
            raise ConfigError(f"storage={shown}: the {driver} driver is not installed; pip install 'psycopg[binary]'")
        if not url.database:
            raise ConfigError(f"storage={shown}: name the database, postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
        return StorageSpec(url.render_as_string(hide_password=False), "postgresql", shown)
    if backend == "mysql":
        return StorageSpec(url.render_as_string(hide_password=False), "mysql", shown)
    raise ConfigError(f"storage={shown}: {backend} is not a supported study storage; use {FORMS}")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def check_workers(spec: StorageSpec, jobs: int) -> None:
    if jobs > 1 and not spec.multi_worker:
        raise ConfigError(
            f"jobs={jobs} with storage {spec.shown}: SQLite is for one worker. It locks the whole file for"
            " every write, so several workers stall on 'database is locked' and can miss heartbeats."
            f" Use storage=postgresql://USER:PASSWORD@HOST:PORT/DATABASE (or journal:FILE on a disk every"
            " worker sees) for several workers"
        )


def open_storage(spec: StorageSpec, heartbeat: int, grace: int, max_retry: int) -> optuna.storages.BaseStorage:
    """Connect (creating the SQLite folder or the tables if needed); a failure names the key."""
    if spec.kind == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        Path(spec.url).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(spec.url))
    from sqlalchemy.exc import IntegrityError, ProgrammingError, SQLAlchemyError

    engine_kwargs: dict = {"pool_pre_ping": True}
    if spec.kind == "sqlite":
        spec.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 60}}
    # optuna 4.9 renamed RetryFailedTrialCallback / failed_trial_callback; take whichever this optuna has
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    for attempt in range(1, 6):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                callback = ({"heartbeat_stale_trial_callback": retry(max_retry=max_retry)} if retry else
                            {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=max_retry)})
                return optuna.storages.RDBStorage(spec.url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat,
                                                  grace_period=grace, **callback)
        except (IntegrityError, ProgrammingError):
            # workers started together on an empty database race to create optuna's tables;
            # the losers find them made when they try again
            if attempt == 5:
                raise
            time.sleep(0.5 * attempt)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise ConfigError(f"storage={spec.shown}: cannot open the study storage: {reason}") from None
    raise AssertionError("unreachable")


def warn_if_shared(spec: StorageSpec, study: optuna.Study) -> None:
    """SQLite is for one worker: say so when another process seems to be working on the study."""
    if spec.kind != "sqlite":
        return
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    if running:
        log.warning(
            "trial(s) %s of study %s are RUNNING in %s: if another bench tune works on this study, stop it —"
            " SQLite is for one worker (use postgresql:// or journal: storage for several); if none does,"
            " they were left by a killed worker and are failed and retried once their heartbeat is stale",
            ", ".join(str(t.number) for t in running), study.study_name, spec.shown)
