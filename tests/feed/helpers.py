"""Building change files for the feed's tests (synthetic people, generated My Numbers)."""

from datetime import date

from accounts.models import User
from accounts.roles import Role
from imports.feed import resident_feed_process, resident_feed_receive
from imports.feed.layout import FEED_COLUMNS
from imports.models import ImportSource, ResidentFeedFile
from records.models import Resident
from records.selectors import residency_periods_for
from tests.factories import ResidentFactory, UserFactory, new_my_number

CODES = {"birth": "01", "move_in": "02", "move_out": "03", "death": "04", "address_change": "05",
         "name_change": "06", "correction": "07"}


def change(kind: str, on: str, address_number: str, *, name: str = "越谷　花子", kana: str = "コシガヤ　ハナコ",
           birth: str = "1980-04-01", sex: str = "2", postal: str = "343-0001", address: str = "埼玉県越谷市越ヶ谷1-1",
           my_number: str = "") -> list[str]:
    return [CODES.get(kind, kind), on, address_number, name, kana, birth, sex, postal, address, my_number]


def feed_bytes(rows: list[list[str]], *, encoding: str = "utf-8", header: tuple[str, ...] = FEED_COLUMNS) -> bytes:
    lines = [",".join(header)] + [",".join(cells) for cells in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def feed_staff() -> User:
    return User.objects.filter(username="feed-staff").first() or UserFactory(username="feed-staff",
                                                                            with_role=Role.STAFF)


def receive(rows: list[list[str]], *, actor: User | None = None, name: str = "ido.csv", **kwargs) -> ResidentFeedFile:
    """Receive (processing runs eagerly once the test's transaction would commit: tests call process)."""
    return resident_feed_receive(actor=actor or feed_staff(), filename=name, data=feed_bytes(rows, **kwargs),
                                 source=ImportSource.STAFF_UPLOAD)


def receive_and_process(rows: list[list[str]], **kwargs) -> ResidentFeedFile:
    feed_file = receive(rows, **kwargs)
    return resident_feed_process(feed_id=feed_file.pk)


def resident(address_number: str = "100001", **kwargs) -> Resident:
    kwargs.setdefault("name", "越谷　花子")
    kwargs.setdefault("name_kana", "コシガヤ　ハナコ")
    kwargs.setdefault("birth_date", date(1980, 4, 1))
    kwargs.setdefault("sex", 2)
    kwargs.setdefault("address", "埼玉県越谷市越ヶ谷1-1")
    return ResidentFactory(address_number=address_number, **kwargs)


def periods_of(person: Resident):
    return residency_periods_for([person.pk])[person.pk]


__all__ = ["change", "feed_bytes", "feed_staff", "new_my_number", "periods_of", "receive", "receive_and_process",
           "resident"]
