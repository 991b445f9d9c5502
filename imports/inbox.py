"""The inbox folder: the contractor drops each clinic's monthly CSV into ``settings.IMPORT_INBOX_DIR``, named
``<clinic code>_<YYYYMM>.csv`` (optionally ``<clinic code>_<YYYYMM>_<suffix>.csv`` for a further file of
the same month, e.g. a correction file), and ``inbox_scan`` takes them in.

For each file: the bytes are read and handed to ``imports.services.clinic_import_receive`` (source INBOX);
only once that has returned, i.e. the file is stored and its import committed, is the file moved to
``settings.IMPORT_ARCHIVE_DIR`` (an atomic rename). A file that cannot be taken (a name outside the pattern,
an unknown clinic, a duplicate, an encoding the import refuses ...) is moved to the inbox's ``rejected/``
folder with a ``.reason.txt`` beside it that says why, in Japanese. Nothing is ever deleted: a file leaves
the inbox only by being renamed into the archive or the rejected folder.

The scheduled job has no person behind it: it acts as the inactive ``system-inbox`` account (see
``inbox_system_user``); an operator running ``manage.py import_inbox --actor NAME`` acts as themselves.

Re-running is safe: a scan holds a lock on the inbox (a second scan at the same time does nothing), and a
file whose bytes were already stored from the inbox under the same name but never reached the archive (a
scan stopped between storing and moving it) is simply archived.
"""

import errno
import fcntl
import hashlib
import logging
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from imports.models import ClinicImport, ImportSource
from records.models import Clinic
from records.rules.dates import DateParseError, parse_year_month

logger = logging.getLogger(__name__)

INBOX_NAME = re.compile(r"^(?P<clinic>\d{10})_(?P<month>\d{6})(?:_(?P<suffix>[0-9A-Za-z-]{1,20}))?\.csv$",
                        re.IGNORECASE)
INBOX_NAME_EXAMPLE = "1112345678_202511.csv"
REJECTED_DIR_NAME = "rejected"
REASON_SUFFIX = ".reason.txt"
LOCK_NAME = ".inbox.lock"
INBOX_SYSTEM_USERNAME = "system-inbox"
# Files still being written: the contractor writes under a temporary name and renames when complete.
IN_TRANSIT_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")

ARCHIVED = "archived"
REJECTED = "rejected"


@dataclass(frozen=True)
class InboxOutcome:
    filename: str
    result: str  # ARCHIVED or REJECTED
    moved_to: str
    import_id: int | None = None
    reason: str = ""


@dataclass
class InboxSummary:
    outcomes: list[InboxOutcome] = field(default_factory=list)
    locked: bool = False  # another scan held the inbox: this one did nothing

    @property
    def archived(self) -> list[InboxOutcome]:
        return [o for o in self.outcomes if o.result == ARCHIVED]

    @property
    def rejected(self) -> list[InboxOutcome]:
        return [o for o in self.outcomes if o.result == REJECTED]

    def as_dict(self) -> dict[str, Any]:
        """For the task result and the command: file names (clinic code and month) and import ids only."""
        return {
            "locked": self.locked,
            "archived": [{"file": o.filename, "import_id": o.import_id} for o in self.archived],
            "rejected": [{"file": o.filename, "reason": o.reason} for o in self.rejected],
        }


class Refusal(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def inbox_dirs() -> tuple[Path, Path, Path]:
    inbox = Path(settings.IMPORT_INBOX_DIR)
    return inbox, Path(settings.IMPORT_ARCHIVE_DIR), inbox / REJECTED_DIR_NAME


def inbox_system_user() -> Any:
    """The account the scheduled job acts as (an import names its uploader, and the records it creates
    their creator): ``system-inbox``, inactive and without a password or a role, so nobody can sign in
    with it and it can do nothing else. Created on first use."""
    user_model = get_user_model()
    user, _created = user_model.objects.get_or_create(
        username=INBOX_SYSTEM_USERNAME,
        defaults={"is_active": False, "last_name": "受信フォルダ自動取込", "password": make_password(None)},
    )
    return user


def inbox_scan(*, actor: Any = None) -> InboxSummary:
    """Take every waiting file in name order. ``actor`` is the operator who ran the command; the
    scheduled job passes none and acts as ``inbox_system_user()``. Errors other than a refusal of the file
    (the database down, a full disk) propagate: the file concerned stays in the inbox for the next run."""
    inbox, archive, rejected = inbox_dirs()
    for folder in (inbox, archive, rejected):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    summary = InboxSummary()
    with _inbox_lock(inbox) as acquired:
        if not acquired:
            summary.locked = True
            return summary
        waiting = _waiting_files(inbox)
        if waiting and actor is None:
            actor = inbox_system_user()
        for path in waiting:
            summary.outcomes.append(_take(path, actor=actor, archive=archive, rejected=rejected))
    return summary


def _waiting_files(inbox: Path) -> list[Path]:
    files = []
    for entry in os.scandir(inbox):
        name = entry.name
        if name.startswith(".") or name.lower().endswith(IN_TRANSIT_SUFFIXES):
            continue
        if entry.is_file(follow_symlinks=False):
            files.append(Path(entry.path))
    return sorted(files, key=lambda p: p.name)


@contextmanager
def _inbox_lock(inbox: Path) -> Iterator[bool]:
    with open(inbox / LOCK_NAME, "a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _take(path: Path, *, actor: Any, archive: Path, rejected: Path) -> InboxOutcome:
    from imports.services import ImportRefused, clinic_import_receive

    name = path.name
    try:
        clinic, billing_month = _parse_name(name)
        data = path.read_bytes()
        earlier = _stored_from_inbox(name=name, clinic=clinic, data=data)
        if earlier is not None and not (archive / f"{earlier.pk}_{name}").exists():
            moved = _move(path, archive, f"{earlier.pk}_{name}")
            return InboxOutcome(filename=name, result=ARCHIVED, moved_to=str(moved), import_id=earlier.pk,
                                reason="stored by an earlier scan")
        try:
            clinic_import = clinic_import_receive(
                actor=actor, clinic=clinic, billing_month=billing_month, filename=name, data=data,
                source=ImportSource.INBOX,
            )
        except ImportRefused as exc:
            raise Refusal(" ".join(exc.messages)) from None
    except Refusal as refusal:
        moved = _reject(path, rejected, refusal.reason)
        logger.warning("inbox: file refused, moved to %s", moved.name)
        return InboxOutcome(filename=name, result=REJECTED, moved_to=str(moved), reason=refusal.reason)
    # Stored and committed: only now may the file leave the inbox.
    moved = _move(path, archive, f"{clinic_import.pk}_{name}")
    return InboxOutcome(filename=name, result=ARCHIVED, moved_to=str(moved), import_id=clinic_import.pk)


def _parse_name(name: str) -> tuple[Clinic, Any]:
    match = INBOX_NAME.match(name)
    if match is None:
        raise Refusal(
            "ファイル名が規則に合いません。「医療機関コード10桁_請求年月6桁.csv」"
            f"（例: {INBOX_NAME_EXAMPLE}）の名前にしてください。"
        )
    try:
        billing_month = parse_year_month(match["month"])
    except DateParseError as exc:
        raise Refusal(f"ファイル名の請求年月（{match['month']}）が正しくありません。{exc.message}") from None
    clinic = Clinic.objects.filter(code=match["clinic"]).first()
    if clinic is None:
        raise Refusal(f"ファイル名の医療機関コード（{match['clinic']}）は登録されていません。")
    return clinic, billing_month


def _stored_from_inbox(*, name: str, clinic: Clinic, data: bytes) -> ClinicImport | None:
    """The import this very file (same bytes, same name, from the inbox) became in an earlier scan. If the
    archive lacks it, that scan stopped between storing and moving it, and this scan finishes the move;
    if the archive has it, the file was dropped again and is refused as the duplicate it is."""
    digest = hashlib.sha256(data).hexdigest()
    return ClinicImport.objects.filter(sha256=digest, source=ImportSource.INBOX, original_filename=name,
                                       clinic=clinic).first()


CLINIC_GUIDE = "ファイル名の規則とCSVの様式は「医療機関向け 接種実績CSV 仕様」（docs/clinic-csv.md）にあります。"


def _reject(path: Path, rejected: Path, reason: str, *, guide: str = CLINIC_GUIDE) -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    moved = _move(path, rejected, f"{stamp}_{path.name}")
    _write_reason(moved.with_name(moved.name + REASON_SUFFIX), original=path.name, reason=reason, guide=guide)
    return moved


def _write_reason(target: Path, *, original: str, reason: str, guide: str = CLINIC_GUIDE) -> None:
    """UTF-8 with BOM and CRLF, so Notepad on the contractor's Windows PC shows it as it is."""
    now = timezone.localtime()
    text = "\r\n".join([
        "取込できなかったファイル",
        f"ファイル名: {original}",
        f"日時: {now:%Y-%m-%d %H:%M:%S}",
        f"理由: {reason}",
        "",
        "対処: 理由を確認してファイルを直し、受信フォルダに置き直してください。",
        guide,
        "",
    ])
    temporary = target.with_name("." + target.name + ".part")
    with open(temporary, "w", encoding="utf-8-sig", errors="replace", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    os.chmod(target, 0o600)


def _free_name(folder: Path, name: str) -> Path:
    candidate = folder / name
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = folder / f"{Path(name).stem}-{counter}{Path(name).suffix}"
    return candidate


def _move(source: Path, folder: Path, name: str) -> Path:
    """Rename ``source`` into ``folder`` (atomic on one filesystem). Across filesystems: copy to a
    temporary name there, flush it to disk, rename it into place, and only then remove the source, so the
    file exists in one place or the other at every moment."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = _free_name(folder, name)
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        temporary = folder / f".{target.name}.part"
        shutil.copyfile(source, temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        source.unlink()
    os.chmod(target, 0o600)
    return target
