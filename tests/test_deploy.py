"""Production packaging: the compose file, the image recipe, the documented configuration, and the
production settings (`check --deploy` clean, and no start without the secrets)."""

import base64
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_SERVICES = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("postgres", "redis", "web", "worker", "beat")
SECRET_NAMES = ("SECRET_KEY", "MY_NUMBER_KEYS", "MY_NUMBER_INDEX_KEY", "POSTGRES_PASSWORD", "DATABASE_URL")
REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY", "MY_NUMBER_KEYS", "MY_NUMBER_INDEX_KEY", "DATABASE_URL", "ALLOWED_HOSTS",
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _depends(service: dict[str, Any]) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


def test_compose_has_every_service_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat", "mock-intermediate"}
    assert services["postgres"]["image"] == "postgres:15"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]
    assert "ping" in services["redis"]["healthcheck"]["test"]
    for name in ("web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    for name in LONG_RUNNING:
        assert services[name]["restart"] in {"unless-stopped", "always"}, name
    assert services["migrate"]["restart"] == "no"


def test_compose_mock_intermediate_server_only_with_its_profile(compose):
    mock = compose["services"]["mock-intermediate"]
    assert mock["profiles"] == ["mock"]
    assert mock["command"][:3] == ["python", "manage.py", "run_mock_intermediate"]
    assert "--port=8765" in mock["command"]
    assert mock["healthcheck"]["test"]


def test_compose_app_services_run_the_right_commands(compose):
    services = compose["services"]
    assert services["migrate"]["command"][-3:] == ["manage.py", "migrate", "--no-input"]
    assert services["web"]["command"][:2] == ["gunicorn", "koshigaya_vax.wsgi"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "koshigaya_vax", "worker"]
    beat = services["beat"]["command"]
    assert beat[:4] == ["celery", "-A", "koshigaya_vax", "beat"]
    assert "--scheduler=django_celery_beat.schedulers:DatabaseScheduler" in beat
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"]["context"] == ".", name
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "koshigaya_vax.settings.production", name
        assert service["env_file"] == ".env", name


def test_compose_start_order_waits_for_health_and_migrations(compose):
    services = compose["services"]
    assert _depends(services["migrate"]) == {"postgres": "service_healthy"}
    for name in ("web", "worker", "beat"):
        assert _depends(services[name]) == {
            "migrate": "service_completed_successfully",
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }, name


def test_compose_keeps_data_in_named_volumes(compose):
    assert set(compose["volumes"]) >= {"postgres-data", "redis-data", "media"}
    services = compose["services"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redis-data:/data" in services["redis"]["volumes"]
    for name in APP_SERVICES:
        assert "media:/app/var" in services[name]["volumes"], name


def test_compose_holds_no_secret(compose):
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        assert not set(environment) & set(SECRET_NAMES), f"{name} sets a secret inline; use .env"
    for secret in SECRET_NAMES:
        assert not re.search(rf"^\s*-?\s*{secret}\s*[:=]", text, re.MULTILINE), secret
    assert not re.search(r"://[^/\s:@]+:[^@\s]+@", text), "a URL with a password"


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_file_is_accepted_by_docker_compose(tmp_path):
    command = _compose_command()
    if command is None:
        # Outside CI this part needs a compose client (`apt-get install docker-compose`); .ci/run
        # installs one, so in CI its absence is a failure, never a silent pass.
        assert os.environ.get("CI", "").lower() not in {"1", "true", "yes"}, (
            "CI=true but neither `docker compose` nor `docker-compose` is installed"
        )
        return
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")  # env_file must exist for the client
    result = subprocess.run(
        [*command, "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    resolved = subprocess.run(
        [*command, "-f", str(tmp_path / "docker-compose.yml"), "config", "--services"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    # The mock intermediate server has a profile: some compose versions list it without the profile, some not.
    assert set(resolved.stdout.split()) - {"mock-intermediate"} == {"postgres", "redis", "migrate", "web", "worker",
                                                                    "beat"}


def test_dockerfile_builds_a_locked_non_root_image():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim", text, re.MULTILINE)
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-noto-cjk"):
        assert package in text, package
    assert "uv sync --frozen --no-dev" in text
    assert "collectstatic --no-input" in text
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for path in (".env", ".venv", ".git", "var"):
        assert path in ignored, path


def _settings_variables() -> set[str]:
    pattern = re.compile(r"env_(?:str|bool|int|list)\(\s*\"([A-Z0-9_]+)\"")
    names: set[str] = set()
    for path in (ROOT / "koshigaya_vax" / "settings").glob("*.py"):
        names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return names


def test_every_setting_variable_is_documented():
    names = _settings_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "MY_NUMBER_KEYS", "CELERY_BROKER_URL"} <= names
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))
    assert names <= listed, f".env.example lacks {sorted(names - listed)}"
    undocumented = sorted(name for name in names if f"`{name}`" not in readme)
    assert not undocumented, f"README.md's configuration table lacks {undocumented}"


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items()
        if key not in _settings_variables() and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update({
        "DJANGO_SETTINGS_MODULE": "koshigaya_vax.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "vax.example.lg.jp",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "MY_NUMBER_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode("ascii"),
        "MY_NUMBER_INDEX_KEY": secrets.token_urlsafe(48),
        "STATIC_ROOT": str(tmp_path / "static"),
        "KVAX_VAR_DIR": str(tmp_path / "var"),
    })
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )


def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS:" not in output
    assert not re.search(r"\((?:security|[a-z_]+)\.[WE]\d+\)", output), output


@pytest.mark.parametrize("variable", REQUIRED_IN_PRODUCTION)
def test_production_refuses_to_start_without(tmp_path, variable):
    result = manage("check", env=production_env(tmp_path, **{variable: None}))
    assert result.returncode != 0
    assert f"Environment variable {variable} is required" in result.stderr


def test_production_is_never_in_debug(tmp_path):
    result = manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)",
                    env=production_env(tmp_path, DEBUG="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
