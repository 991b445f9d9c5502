"""The one client of the intermediate server (中間サーバー). Typed requests and answers, a timeout on every
call, and retries with exponential back-off on transient failures only.

Transient (retried up to settings.LINKAGE_MAX_ATTEMPTS attempts in all): connection refused or reset,
timeouts (connect, read, write, pool), a broken HTTP exchange, and the answers 500, 502, 503 and 504.
Every write carries an idempotency key, so retrying after a timeout whose request did arrive gets the
stored answer back and never causes a second exchange. Never retried: every 4xx (a refusal, an unknown
permit, a bad request) — retrying would give the same answer.

Nothing here sees a My Number: persons travel as their information-provision code (符号), and the code
is obtained for our internal 宛名番号.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})


class LinkageError(Exception):
    """Base of the client's errors. ``code`` is a stable, data-free reason kept on the exchange."""

    code = "linkage_error"


class LinkageUnavailable(LinkageError):
    """Transient failures until the attempts ran out: the server is down, slow or failing."""

    def __init__(self, code: str, attempts: int) -> None:
        super().__init__(f"{code} after {attempts} attempt(s)")
        self.code = code
        self.attempts = attempts


class LinkageRejected(LinkageError):
    """The server answered 4xx: the request is wrong or not allowed. Not retried."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{status} {code} {message}".strip())
        self.status = status
        self.code = code
        self.message = message


class PermitRefused(LinkageRejected):
    """No provision permit: the query-permission list does not allow this query."""


@dataclass(frozen=True)
class Body:
    code: str
    name: str


@dataclass(frozen=True)
class PermissionEntry:
    requester: str
    provider: str
    business: str
    item: str


@dataclass(frozen=True)
class PermitRequest:
    provider: str
    business: str
    item: str
    code: str
    idempotency_key: str


@dataclass(frozen=True)
class Permit:
    permit_id: str
    expires_at: str


@dataclass(frozen=True)
class QueryRequest:
    permit_id: str
    reply_key: str
    idempotency_key: str


@dataclass(frozen=True)
class QueryAnswer:
    query_id: str
    provider: str
    permit_id: str
    envelope: dict[str, Any]
    answered_at: str


@dataclass(frozen=True)
class InboundQueryMessage:
    inbound_id: str
    requester: str
    requester_name: str
    business: str
    item: str
    code: str
    permit_id: str
    reply_key: str
    received_at: str


@dataclass(frozen=True)
class InboundAnswer:
    inbound_id: str
    outcome: str  # "provided", "refused" or "not_found"
    idempotency_key: str
    envelope: dict[str, Any] | None = None
    reason: str = ""


class IntermediateServerClient:
    def __init__(
        self,
        *,
        base_url: str,
        body_code: str,
        timeout: float,
        max_attempts: int,
        backoff_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.body_code = body_code
        self.max_attempts = max(1, max_attempts)
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                                  headers={"X-Body-Code": body_code})

    @classmethod
    def from_settings(cls) -> "IntermediateServerClient":
        return cls(
            base_url=settings.LINKAGE_SERVER_URL, body_code=settings.LINKAGE_BODY_CODE,
            timeout=float(settings.LINKAGE_TIMEOUT_SECONDS), max_attempts=settings.LINKAGE_MAX_ATTEMPTS,
            backoff_seconds=settings.LINKAGE_RETRY_BACKOFF_MS / 1000,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "IntermediateServerClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- Transport -----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, json: dict[str, Any] | None = None,
              params: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        reason = "unavailable"
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                self.sleep(self.backoff_seconds * 2 ** (attempt - 2))
            try:
                response = self._http.request(method, path, json=json, params=params)
            except httpx.TimeoutException:
                reason = "timeout"
                continue
            except (httpx.NetworkError, httpx.RemoteProtocolError):
                reason = "connection_failed"
                continue
            if response.status_code in TRANSIENT_STATUSES:
                reason = f"http_{response.status_code}"
                continue
            try:
                body = response.json()
            except ValueError:
                body = {}
            if response.status_code >= 400:
                error = str(body.get("error", f"http_{response.status_code}"))
                message = str(body.get("message", ""))
                if response.status_code == 403 and error == "not_permitted":
                    raise PermitRefused(response.status_code, error, message)
                raise LinkageRejected(response.status_code, error, message)
            return response.status_code, body
        raise LinkageUnavailable(reason, self.max_attempts)

    # --- Operations ----------------------------------------------------------------------------------
    def bodies(self) -> list[Body]:
        _status, body = self._call("GET", "/v1/bodies")
        return [Body(code=b["code"], name=b["name"]) for b in body["bodies"]]

    def permission_list(self) -> list[PermissionEntry]:
        _status, body = self._call("GET", "/v1/permission-list", params={"provider": self.body_code})
        return [PermissionEntry(e["requester"], e["provider"], e["business"], e["item"]) for e in body["entries"]]

    def code_issue(self, *, address_number: str, idempotency_key: str) -> str:
        """The information-provision code (符号) of the person we know by ``address_number``."""
        _status, body = self._call("POST", "/v1/codes", json={
            "body": self.body_code, "address_number": address_number, "idempotency_key": idempotency_key,
        })
        return str(body["code"])

    def key_register(self, *, public_key: str) -> str:
        _status, body = self._call("POST", "/v1/keys", json={"body": self.body_code, "public_key": public_key})
        return str(body["key_id"])

    def permit_request(self, request: PermitRequest) -> Permit:
        """A provision permit for one query; PermitRefused when the permission list does not allow it."""
        _status, body = self._call("POST", "/v1/permits", json={
            "requester": self.body_code, "provider": request.provider, "business": request.business,
            "item": request.item, "code": request.code, "idempotency_key": request.idempotency_key,
        })
        return Permit(permit_id=str(body["permit_id"]), expires_at=str(body["expires_at"]))

    def query(self, request: QueryRequest) -> QueryAnswer:
        _status, body = self._call("POST", "/v1/queries", json={
            "permit_id": request.permit_id, "reply_key": request.reply_key,
            "idempotency_key": request.idempotency_key,
        })
        return QueryAnswer(query_id=str(body["query_id"]), provider=str(body["provider"]),
                           permit_id=str(body["permit_id"]), envelope=body["envelope"],
                           answered_at=str(body["answered_at"]))

    def inbound_fetch(self) -> list[InboundQueryMessage]:
        _status, body = self._call("GET", "/v1/inbound", params={"body": self.body_code})
        return [
            InboundQueryMessage(
                inbound_id=q["inbound_id"], requester=q["requester"], requester_name=q.get("requester_name", ""),
                business=q["business"], item=q["item"], code=q["code"], permit_id=q["permit_id"],
                reply_key=q["reply_key"], received_at=q["received_at"],
            )
            for q in body["queries"]
        ]

    def inbound_answer(self, answer: InboundAnswer) -> None:
        self._call("POST", f"/v1/inbound/{answer.inbound_id}/answer", json={
            "body": self.body_code, "idempotency_key": answer.idempotency_key, "outcome": answer.outcome,
            "envelope": answer.envelope, "reason": answer.reason,
        })
