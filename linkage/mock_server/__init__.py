"""A mock of the intermediate server (中間サーバー) and the information-provision network behind it: a
separate process with its own state, never a branch in business code. See docs/linkage.md for its API.

Run: ``manage.py run_mock_intermediate --port 8765 --state var/mock-intermediate.json`` (writes a demo
state with our public keys when the file does not exist), or Django-free with
``python -m linkage.mock_server --port 8765 --state FILE``.
"""
