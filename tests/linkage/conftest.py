"""The mock intermediate server as a real process for the linkage tests.

``mock_process`` (session): ``manage.py run_mock_intermediate`` on a free port of 127.0.0.1, spawned with
subprocess, waited for until /health answers, terminated at the end. ``mock`` (per test): loads a fresh
state into that process (our body with our public key, 千代田区 and 大阪市 on the permission list both
ways, 札幌市 on none), clears the fault controls, points the settings at it with a 1-second timeout and a
10 ms back-off, and offers the test controls. ``spawn_mock`` starts an extra process a test may stop
and restart (server down).
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from linkage.envelope import generate_private_key_text, private_key_from_text, public_key_text
from linkage.rules import BUSINESS, ITEM_HISTORY

ROOT = Path(__file__).resolve().parent.parent.parent
OUR_CODE = "112224"
CHIYODA, OSAKA, SAPPORO = "131016", "271004", "011002"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MockProcess:
    def __init__(self, state_path: Path, port: int | None = None) -> None:
        self.state_path = state_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "koshigaya_vax.settings.test"}
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_mock_intermediate", "--port", str(self.port),
             "--state", str(self.state_path)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                output = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"mock server exited: {output}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("mock server did not become ready")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None


@pytest.fixture(scope="session")
def mock_process(tmp_path_factory) -> Iterator[MockProcess]:
    process = MockProcess(tmp_path_factory.mktemp("mock") / "state.json")
    process.start()
    yield process
    process.stop()


def _body(name: str) -> dict[str, Any]:
    private = generate_private_key_text()
    return {"name": name, "public_keys": [public_key_text(private_key_from_text(private))], "private_keys": [private]}


def dose(on: str = "2025-11-04", vaccine: str = "FLU01", **extra: Any) -> dict[str, Any]:
    data = {"vaccinated_on": on, "vaccine_code": vaccine, "lot_number": "HA123-A", "place": "千代田区立保健所",
            "examination_category": 1, "dose_ml": "0.50", "screening_doctor": "神田 一郎",
            "vaccinating_doctor": "神田 一郎", "payment_category": 1}
    data.update(extra)
    return data


@dataclass
class Mock:
    """Controls of the running mock server for one test."""

    url: str
    state: dict[str, Any]
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=10)
        self.load()

    def load(self) -> None:
        response = self.http.post("/admin/state", json=self.state)
        assert response.status_code == 200, response.text

    def person(self, *, address_number: str, provider: str = CHIYODA, doses: list[dict[str, Any]] | None = None,
               provider_code: str | None = None) -> str:
        """A person we know by ``address_number`` whom ``provider`` knows by its own code, with a history."""
        code = provider_code or f"{provider}-{address_number}"
        self.state["persons"].append({"id": f"P-{address_number}", "addresses": {OUR_CODE: address_number},
                                      "codes": {provider: code}})
        self.state["histories"].setdefault(provider, {})[code] = doses or []
        self.load()
        return code

    def faults(self, **controls: Any) -> None:
        assert self.http.post("/admin/faults", json=controls).status_code == 200

    def fault_status(self) -> dict[str, Any]:
        return self.http.get("/admin/faults").json()

    def seed_inbound(self, *, code: str, requester: str = CHIYODA, item: str = ITEM_HISTORY) -> tuple[int, dict]:
        response = self.http.post("/admin/inbound", json={"requester": requester, "provider": OUR_CODE,
                                                          "business": BUSINESS, "item": item, "code": code})
        return response.status_code, response.json()

    def inspect(self, inbound_id: str) -> dict[str, Any]:
        return self.http.get(f"/admin/inbound/{inbound_id}").json()

    def log(self, op: str | None = None) -> list[dict[str, Any]]:
        entries = self.http.get("/admin/state").json()["log"]
        return [e for e in entries if op is None or e["op"] == op]

    def server_state(self) -> dict[str, Any]:
        return self.http.get("/admin/state").json()

    def set_permissions(self, lines: list[dict[str, str]]) -> None:
        state = self.server_state()
        state["permissions"] = lines
        assert self.http.post("/admin/state", json=state).status_code == 200


def base_state(our_public_keys: list[str]) -> dict[str, Any]:
    lines = []
    for other in (CHIYODA, OSAKA):
        lines.append({"requester": OUR_CODE, "provider": other, "business": BUSINESS, "item": ITEM_HISTORY})
        lines.append({"requester": other, "provider": OUR_CODE, "business": BUSINESS, "item": ITEM_HISTORY})
    return {
        "bodies": {
            OUR_CODE: {"name": "埼玉県越谷市", "public_keys": list(our_public_keys), "private_keys": []},
            CHIYODA: _body("東京都千代田区"), OSAKA: _body("大阪府大阪市"), SAPPORO: _body("北海道札幌市"),
        },
        "permissions": lines,
        "persons": [],
        "histories": {},
    }


def point_settings_at(settings: Any, url: str) -> None:
    settings.LINKAGE_SERVER_URL = url
    settings.LINKAGE_BODY_CODE = OUR_CODE
    settings.LINKAGE_TIMEOUT_SECONDS = 1
    settings.LINKAGE_MAX_ATTEMPTS = 3
    settings.LINKAGE_RETRY_BACKOFF_MS = 10
    settings.LINKAGE_NO_AUTO_RESPONSE_ITEMS = []


@pytest.fixture
def mock(mock_process, settings) -> Iterator[Mock]:
    from linkage.keys import our_public_keys

    point_settings_at(settings, mock_process.url)
    control = Mock(url=mock_process.url, state=base_state(our_public_keys()))
    yield control
    control.faults()
    control.http.close()


@pytest.fixture
def spawn_mock(tmp_path) -> Iterator[Any]:
    started: list[MockProcess] = []

    def spawn(state_path: Path | None = None, port: int | None = None) -> MockProcess:
        process = MockProcess(state_path or tmp_path / "state.json", port=port)
        process.start()
        started.append(process)
        return process

    yield spawn
    for process in started:
        process.stop()


@pytest.fixture
def vaccines(db) -> dict[str, Any]:
    from tests.factories import VaccineFactory

    return {code: VaccineFactory(code=code) for code in ("FLU01", "FLU02")}


@pytest.fixture
def moved_in_resident(db) -> Any:
    """A resident who moved in on 2026-04-01 (born 1990)."""
    from tests.factories import ResidentFactory

    return ResidentFactory(address_number="700001", birth_date=date(1990, 5, 1), moved_in_on=date(2026, 4, 1))
