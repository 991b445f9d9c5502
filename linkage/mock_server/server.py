"""The mock intermediate server: a small threaded WSGI application (stdlib ``wsgiref``) over a JSON state.

It plays the network and every other body: it holds the bodies (municipality code, name, public keys,
and for the simulated bodies their private keys), the persons with the information-provision code
(符号) each body knows them by, the other bodies' vaccination histories keyed by their code, and the
query-permission list (照会許可用照会リスト: requester, provider, business, item). It issues codes, issues
a provision permit (提供許可証) only when the list allows the query, answers queries with the provider's
data sealed for the requester's key, delivers inbound queries from other bodies and accepts our answers,
and logs every exchange. Every POST carries an idempotency key: the same key gets the same answer and
never a second exchange.

Test controls under ``/admin/`` make it fail on purpose (500 for the next N calls, answer late for the
next N calls — processing first, so a timed-out request has still been handled), replace its state, and
seed inbound queries. The state is written back to the state file after every change, so a restarted
server carries on where it stopped.
"""

import json
import secrets
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from linkage.envelope import EnvelopeError, key_id, open_envelope, private_key_from_text, seal

StartResponse = Callable[..., Any]
PERMIT_LIFETIME = timedelta(minutes=30)


class HttpError(Exception):
    def __init__(self, status: int, error: str, message: str = "") -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.message = message


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


class MockState:
    """The server's state and the operations on it, all under one lock."""

    def __init__(self, state: dict[str, Any], path: Path | None) -> None:
        self.lock = threading.RLock()
        self.path = path
        self.data: dict[str, Any] = {}
        self.replace(state)
        self.fail_status = 0
        self.fail_count = 0
        self.delay_seconds = 0.0
        self.delay_count = 0
        self.fault_path = "/v1/"  # faults apply to requests whose path starts with this

    def faults(self) -> dict[str, Any]:
        return {"fail_status": self.fail_status, "fail_count": self.fail_count, "delay_seconds": self.delay_seconds,
                "delay_count": self.delay_count, "path": self.fault_path}

    # --- State ---------------------------------------------------------------------------------
    def replace(self, state: dict[str, Any]) -> None:
        with self.lock:
            data = dict(state)
            for key, empty in (("bodies", {}), ("permissions", []), ("persons", []), ("histories", {}),
                               ("permits", {}), ("queries", {}), ("inbound", {}), ("idempotency", {}),
                               ("log", [])):
                data.setdefault(key, empty)
            self.data = data
            self.save()

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(self.path)

    def log(self, op: str, **fields: Any) -> None:
        self.data["log"].append({"seq": len(self.data["log"]) + 1, "at": _now(), "op": op, **fields})

    def body(self, code: str) -> dict[str, Any]:
        body = self.data["bodies"].get(code)
        if body is None:
            raise HttpError(404, "unknown_body", f"body {code} is not known to the network")
        return body

    def allowed(self, requester: str, provider: str, business: str, item: str) -> bool:
        return any(
            entry["requester"] == requester and entry["provider"] == provider
            and entry["business"] == business and entry["item"] == item
            for entry in self.data["permissions"]
        )

    def _once(self, scope: str, key: str, produce: Callable[[], tuple[int, dict[str, Any]]]) -> tuple[int, dict]:
        """Run ``produce`` once per (scope, key); later calls with the key get the stored answer."""
        if not key:
            raise HttpError(400, "idempotency_key_required")
        store = self.data["idempotency"]
        slot = f"{scope}:{key}"
        if slot in store:
            stored = store[slot]
            return stored["status"], stored["body"]
        status, body = produce()
        store[slot] = {"status": status, "body": body}
        return status, body

    # --- Codes ---------------------------------------------------------------------------------
    def person_for(self, body_code: str, address_number: str) -> dict[str, Any]:
        for person in self.data["persons"]:
            if person.get("addresses", {}).get(body_code) == address_number:
                return person
        person = {"id": _new_id("P"), "addresses": {body_code: address_number}, "codes": {}}
        self.data["persons"].append(person)
        return person

    def issue_code(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        body_code, address_number = str(payload.get("body", "")), str(payload.get("address_number", ""))
        self.body(body_code)
        if not address_number:
            raise HttpError(400, "address_number_required")

        def produce() -> tuple[int, dict[str, Any]]:
            person = self.person_for(body_code, address_number)
            code = person["codes"].get(body_code) or secrets.token_hex(16).upper()
            person["codes"][body_code] = code
            self.log("code_issued", body=body_code, idempotency_key=payload["idempotency_key"])
            return 200, {"code": code}

        return self._once("code", str(payload.get("idempotency_key", "")), produce)

    def register_key(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        body = self.body(str(payload.get("body", "")))
        public_key = str(payload.get("public_key", ""))
        try:
            kid = key_id(public_key)
        except EnvelopeError:
            raise HttpError(400, "bad_public_key") from None
        if public_key not in body["public_keys"]:
            body["public_keys"].append(public_key)
            self.log("key_registered", body=payload["body"], key_id=kid)
        return 200, {"key_id": kid}

    def _translate(self, code: str, from_body: str, to_body: str) -> str | None:
        for person in self.data["persons"]:
            if person.get("codes", {}).get(from_body) == code:
                return person["codes"].get(to_body)
        return None

    # --- Permits and queries -------------------------------------------------------------------
    def issue_permit(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        requester, provider = str(payload.get("requester", "")), str(payload.get("provider", ""))
        business, item = str(payload.get("business", "")), str(payload.get("item", ""))
        code = str(payload.get("code", ""))
        self.body(requester)
        self.body(provider)
        if not code:
            raise HttpError(400, "code_required")

        def produce() -> tuple[int, dict[str, Any]]:
            if not self.allowed(requester, provider, business, item):
                self.log("permit_refused", requester=requester, provider=provider, business=business, item=item,
                         idempotency_key=payload["idempotency_key"])
                return 403, {"error": "not_permitted",
                             "message": "the query-permission list does not allow this query"}
            permit_id = _new_id("PMT")
            self.data["permits"][permit_id] = {
                "requester": requester, "provider": provider, "business": business, "item": item, "code": code,
                "issued_at": _now(), "expires_at": (datetime.now(UTC) + PERMIT_LIFETIME).isoformat(timespec="seconds"),
                "used_by": None,
            }
            self.log("permit_issued", requester=requester, provider=provider, business=business, item=item,
                     permit_id=permit_id, idempotency_key=payload["idempotency_key"])
            return 201, {"permit_id": permit_id, "expires_at": self.data["permits"][permit_id]["expires_at"]}

        return self._once("permit", str(payload.get("idempotency_key", "")), produce)

    def query(self, payload: dict[str, Any], *, caller: str) -> tuple[int, dict[str, Any]]:
        key = str(payload.get("idempotency_key", ""))
        slot = f"query:{key}"
        if key and slot in self.data["idempotency"]:
            stored = self.data["idempotency"][slot]
            return stored["status"], stored["body"]
        permit_id = str(payload.get("permit_id", ""))
        permit = self.data["permits"].get(permit_id)
        if permit is None:
            raise HttpError(404, "unknown_permit", "no such provision permit")
        if permit["requester"] != caller:
            raise HttpError(403, "wrong_body", "the permit was issued to another body")
        if permit["used_by"] not in (None, key):
            raise HttpError(409, "permit_used", "the permit was used by another query")
        if datetime.fromisoformat(permit["expires_at"]) < datetime.now(UTC):
            raise HttpError(409, "permit_expired", "the permit has expired")
        reply_key = str(payload.get("reply_key", ""))
        if reply_key not in self.body(permit["requester"])["public_keys"]:
            raise HttpError(400, "unknown_reply_key", "the reply key is not registered for the requester")

        def produce() -> tuple[int, dict[str, Any]]:
            permit["used_by"] = key
            provider_code = self._translate(permit["code"], permit["requester"], permit["provider"])
            doses = self.data["histories"].get(permit["provider"], {}).get(provider_code or "", [])
            payload_out = {"provider": permit["provider"], "item": permit["item"], "found": provider_code is not None,
                           "doses": doses}
            query_id = _new_id("Q")
            envelope = seal(payload_out, recipient_public_key=reply_key, context=permit_id)
            self.data["queries"][query_id] = {"permit_id": permit_id, "idempotency_key": key, "answered_at": _now()}
            self.log("query_answered", requester=permit["requester"], provider=permit["provider"],
                     business=permit["business"], item=permit["item"], permit_id=permit_id, query_id=query_id,
                     idempotency_key=key, doses=len(doses))
            return 200, {"query_id": query_id, "status": "answered", "provider": permit["provider"],
                         "permit_id": permit_id, "envelope": envelope, "answered_at": _now()}

        return self._once("query", key, produce)

    # --- Inbound queries (other bodies asking us) --------------------------------------------------
    def seed_inbound(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        requester, provider = str(payload.get("requester", "")), str(payload.get("provider", ""))
        business, item = str(payload.get("business", "")), str(payload.get("item", ""))
        code = str(payload.get("code", ""))
        requester_body = self.body(requester)
        self.body(provider)
        if not self.allowed(requester, provider, business, item):
            self.log("permit_refused", requester=requester, provider=provider, business=business, item=item)
            return 403, {"error": "not_permitted"}
        permit_id = _new_id("PMT")
        self.data["permits"][permit_id] = {
            "requester": requester, "provider": provider, "business": business, "item": item, "code": code,
            "issued_at": _now(), "expires_at": (datetime.now(UTC) + PERMIT_LIFETIME).isoformat(timespec="seconds"),
            "used_by": "inbound",
        }
        inbound_id = _new_id("IN")
        self.data["inbound"][inbound_id] = {
            "requester": requester, "requester_name": requester_body["name"], "provider": provider,
            "business": business, "item": item, "code": code, "permit_id": permit_id,
            "reply_key": requester_body["public_keys"][0], "received_at": _now(),
            "status": "waiting", "answer": None, "answer_key": None, "answer_count": 0,
        }
        self.log("inbound_query", requester=requester, provider=provider, business=business, item=item,
                 permit_id=permit_id, inbound_id=inbound_id)
        return 201, {"inbound_id": inbound_id, "permit_id": permit_id}

    def inbound_list(self, body_code: str) -> tuple[int, dict[str, Any]]:
        self.body(body_code)
        waiting = [
            {"inbound_id": inbound_id, **{k: v for k, v in item.items()
                                          if k in ("requester", "requester_name", "business", "item", "code",
                                                   "permit_id", "reply_key", "received_at")}}
            for inbound_id, item in self.data["inbound"].items()
            if item["provider"] == body_code and item["status"] == "waiting"
        ]
        return 200, {"queries": waiting}

    def inbound_answer(self, inbound_id: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        item = self.data["inbound"].get(inbound_id)
        if item is None or item["provider"] != payload.get("body"):
            raise HttpError(404, "unknown_inbound")
        key = str(payload.get("idempotency_key", ""))
        if not key:
            raise HttpError(400, "idempotency_key_required")
        if item["status"] != "waiting":
            if item["answer_key"] == key:
                return 200, {"status": "accepted", "inbound_id": inbound_id}
            raise HttpError(409, "already_answered", "this query has already been answered")
        outcome = payload.get("outcome")
        if outcome not in ("provided", "refused", "not_found"):
            raise HttpError(400, "bad_outcome")
        if outcome == "provided" and not isinstance(payload.get("envelope"), dict):
            raise HttpError(400, "envelope_required")
        if outcome != "provided" and payload.get("envelope") is not None:
            raise HttpError(400, "refusal_carries_no_data")
        item.update(status=outcome, answer=payload.get("envelope"), answer_key=key, answered_at=_now(),
                    reason=str(payload.get("reason", "")))
        item["answer_count"] += 1
        self.log("inbound_answered", requester=item["requester"], provider=item["provider"], item=item["item"],
                 permit_id=item["permit_id"], inbound_id=inbound_id, outcome=outcome, idempotency_key=key)
        return 200, {"status": "accepted", "inbound_id": inbound_id}

    def inbound_inspect(self, inbound_id: str) -> tuple[int, dict[str, Any]]:
        """Test control: what the requester received, decrypted with the requester's private key (the
        mock plays that body)."""
        item = self.data["inbound"].get(inbound_id)
        if item is None:
            raise HttpError(404, "unknown_inbound")
        decrypted = None
        if item["answer"] is not None:
            keys = [private_key_from_text(k) for k in self.body(item["requester"]).get("private_keys", [])]
            try:
                decrypted = open_envelope(item["answer"], private_keys=keys, context=item["permit_id"])
            except EnvelopeError as exc:
                decrypted = {"error": str(exc)}
        return 200, {**{k: v for k, v in item.items() if k != "answer"}, "has_envelope": item["answer"] is not None,
                     "decrypted": decrypted}


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HttpError(400, "bad_json") from None
    if not isinstance(data, dict):
        raise HttpError(400, "bad_json")
    return data


def _same_body(environ: dict[str, Any], claimed: str) -> None:
    if environ.get("HTTP_X_BODY_CODE", "") != claimed:
        raise HttpError(403, "wrong_body", "a body may act only as itself")


_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error"}


def make_app(state: MockState) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def route(method: str, path: str, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        query = dict(part.split("=", 1) for part in environ.get("QUERY_STRING", "").split("&") if "=" in part)
        parts = [p for p in path.split("/") if p]
        if method == "GET" and parts == ["health"]:
            return 200, {"status": "ok"}
        if parts[:1] == ["admin"]:
            return admin(method, parts[1:], environ)
        if parts[:1] != ["v1"]:
            raise HttpError(404, "not_found")
        if state.fail_count > 0 and path.startswith(state.fault_path):
            state.fail_count -= 1
            raise HttpError(state.fail_status or 500, "injected_failure", "failure injected by a test control")
        rest = parts[1:]
        if method == "GET" and rest == ["bodies"]:
            return 200, {"bodies": [{"code": c, "name": b["name"]} for c, b in sorted(state.data["bodies"].items())]}
        if method == "GET" and rest == ["permission-list"]:
            entries = [e for e in state.data["permissions"]
                       if all(e.get(k) == v for k, v in query.items() if k in ("requester", "provider"))]
            return 200, {"entries": entries}
        if method == "GET" and rest == ["inbound"]:
            _same_body(environ, query.get("body", ""))
            return state.inbound_list(query.get("body", ""))
        if method == "GET" and rest == ["log"]:
            return 200, {"entries": state.data["log"]}
        if method != "POST":
            raise HttpError(405, "method_not_allowed")
        payload = _json_body(environ)
        # A body acts only as itself (each body's line is separate): who it claims to be in the request
        # must be who it connected as.
        if rest != ["queries"]:
            _same_body(environ, str(payload.get("requester") if rest == ["permits"] else payload.get("body", "")))
        if rest == ["codes"]:
            return state.issue_code(payload)
        if rest == ["keys"]:
            return state.register_key(payload)
        if rest == ["permits"]:
            return state.issue_permit(payload)
        if rest == ["queries"]:
            return state.query(payload, caller=environ.get("HTTP_X_BODY_CODE", ""))
        if len(rest) == 3 and rest[0] == "inbound" and rest[2] == "answer":
            return state.inbound_answer(rest[1], payload)
        raise HttpError(404, "not_found")

    def admin(method: str, rest: list[str], environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "GET" and rest == ["state"]:
            return 200, state.data
        if method == "GET" and rest == ["faults"]:
            return 200, state.faults()
        if method == "GET" and len(rest) == 2 and rest[0] == "inbound":
            return state.inbound_inspect(rest[1])
        if method != "POST":
            raise HttpError(405, "method_not_allowed")
        payload = _json_body(environ)
        if rest == ["state"]:
            state.replace(payload)
            state.fail_count = state.delay_count = 0
            state.fault_path = "/v1/"
            return 200, {"status": "replaced"}
        if rest == ["faults"]:
            state.fail_status = int(payload.get("fail_status", 500))
            state.fail_count = int(payload.get("fail_count", 0))
            state.delay_seconds = float(payload.get("delay_seconds", 0))
            state.delay_count = int(payload.get("delay_count", 0))
            state.fault_path = str(payload.get("path", "/v1/"))
            return 200, {"status": "set"}
        if rest == ["inbound"]:
            return state.seed_inbound(payload)
        if rest == ["permits", "expire"]:
            past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
            for permit in state.data["permits"].values():
                permit["expires_at"] = past
            return 200, {"expired": len(state.data["permits"])}
        raise HttpError(404, "not_found")

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        delay = 0.0
        with state.lock:
            try:
                status, body = route(method, path, environ)
                if path.startswith("/v1/") and path.startswith(state.fault_path) and state.delay_count > 0:
                    state.delay_count -= 1
                    delay = state.delay_seconds
            except HttpError as exc:
                status, body = exc.status, {"error": exc.error, "message": exc.message}
            if method == "POST" and status < 500:
                state.save()
        if delay:
            # Processed and stored first: the caller times out on an exchange that did happen.
            time.sleep(delay)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        start_response(f"{status} {_REASONS.get(status, 'Status')}",
                       [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]

    return app


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(*, host: str, port: int, state: dict[str, Any], state_path: Path | None) -> None:
    mock = MockState(state, state_path)
    with make_server(host, port, make_app(mock), server_class=_ThreadingWSGIServer,
                     handler_class=_QuietHandler) as server:
        print(f"mock intermediate server listening on http://{host}:{port}/", flush=True)
        server.serve_forever()
