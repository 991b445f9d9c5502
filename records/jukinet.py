"""住基ネット (the Resident Basic Register Network) lookups of a person's 本人確認情報 (氏名, 生年月日, 性別,
住所) by My Number, for registering a non-resident (住登外者). One client module with typed request and
answer dataclasses and a transport it is given; SPEC mocks the network, so the transport that exists is
``FakeJukinetTransport``, an in-process stand-in for tests and demonstrations (never chosen by a setting
inside business code). A real transport implements ``JukinetTransport.send`` with the given timeout.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from records.rules.mynumber import normalize_my_number

DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class JukinetQuery:
    """One lookup. ``repr`` never shows the My Number (queries end up in tracebacks and logs)."""

    my_number: str = field(repr=False)  # normalised, 12 digits
    requested_by: str  # the user name the network's own log records


@dataclass(frozen=True)
class JukinetPerson:
    name: str
    birth_date: date
    sex: int  # JIS X 0303
    address: str
    postal_code: str = ""


@dataclass(frozen=True)
class JukinetAnswer:
    reference: str  # 照会番号: the network's id of the lookup, kept with the registration
    person: JukinetPerson | None  # None: no one with that number


class JukinetUnavailable(Exception):
    """The network did not answer (timeout, connection refused): nothing was looked up."""


class JukinetTransport(Protocol):
    def send(self, query: JukinetQuery, *, timeout: float) -> JukinetAnswer: ...


class JukinetClient:
    def __init__(self, transport: JukinetTransport, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.transport = transport
        self.timeout = timeout

    def lookup(self, *, my_number: str, requested_by: str) -> JukinetAnswer:
        """Raises MyNumberError for an invalid number (nothing is sent) and JukinetUnavailable."""
        query = JukinetQuery(my_number=normalize_my_number(my_number), requested_by=requested_by)
        return self.transport.send(query, timeout=self.timeout)


class FakeJukinetTransport:
    """In-process stand-in for the network: answers from ``people`` (My Number -> person), numbering its
    answers J000001, J000002 …; ``unavailable`` makes every send fail as a timeout would."""

    def __init__(self, people: dict[str, JukinetPerson] | None = None, *, unavailable: bool = False) -> None:
        self.people = dict(people or {})
        self.unavailable = unavailable
        self.queries: list[JukinetQuery] = []

    def send(self, query: JukinetQuery, *, timeout: float) -> JukinetAnswer:
        if self.unavailable:
            raise JukinetUnavailable(f"no answer within {timeout:g} s")
        self.queries.append(query)
        return JukinetAnswer(reference=f"J{len(self.queries):06d}", person=self.people.get(query.my_number))
