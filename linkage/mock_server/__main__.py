"""``python -m linkage.mock_server --port 8765 --state FILE`` (the state file must exist)."""

import argparse
import json
from pathlib import Path

from linkage.mock_server.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(description="Mock intermediate server (中間サーバー)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--state", required=True, type=Path)
    args = parser.parse_args()
    state = json.loads(args.state.read_text(encoding="utf-8"))
    serve(host=args.host, port=args.port, state=state, state_path=args.state)


if __name__ == "__main__":
    main()
