"""Run the mock intermediate server (中間サーバー) as its own process.

    manage.py run_mock_intermediate --port 8765 [--host 127.0.0.1] [--state var/mock-intermediate.json]

A missing state file is created with the demonstration state (linkage/mock_server/fixtures.py); an
existing one is used as it is, except that our current public keys (settings.LINKAGE_PRIVATE_KEYS) are
added to our body's registered keys. The server itself is Django-free (linkage/mock_server/server.py).
"""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from linkage.keys import our_public_keys
from linkage.mock_server.fixtures import demo_state
from linkage.mock_server.server import serve
from linkage.services.common import OUR_BODY_NAME


class Command(BaseCommand):
    help = "Run the mock intermediate server (a separate process with its own state file)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--state", type=Path, default=Path(settings.VAR_DIR) / "mock-intermediate.json",
                            help="JSON state file (created with demonstration data when missing)")

    def handle(self, *args: Any, host: str, port: int, state: Path, **options: Any) -> None:
        our_code = settings.LINKAGE_BODY_CODE
        keys = our_public_keys()
        if state.exists():
            data = json.loads(state.read_text(encoding="utf-8"))
            body = data.setdefault("bodies", {}).setdefault(
                our_code, {"name": OUR_BODY_NAME, "public_keys": [], "private_keys": []})
            body["public_keys"] += [k for k in keys if k not in body["public_keys"]]
        else:
            state.parent.mkdir(parents=True, exist_ok=True)
            data = demo_state(our_code=our_code, our_name=OUR_BODY_NAME, our_public_keys=keys)
        serve(host=host, port=port, state=data, state_path=state)
