# koshigaya-vax production image: gunicorn, Celery worker and beat all run from it (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH

# WeasyPrint's libraries (Pango, HarfBuzz) and a Japanese font for notices and reports.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app

# Dependencies first, exactly as locked, so code changes do not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --python /usr/local/bin/python3

COPY . .

# collectstatic needs the production settings to import; these build-time placeholders are not secrets
# and never reach a running container (the real values come from .env).
RUN DJANGO_SETTINGS_MODULE=koshigaya_vax.settings.production \
    SECRET_KEY=collectstatic-build-placeholder \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    MY_NUMBER_KEYS=unused-at-build \
    MY_NUMBER_INDEX_KEY=unused-at-build \
    python manage.py collectstatic --no-input

RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin kvax \
    && mkdir -p /app/var/media \
    && chown -R kvax:kvax /app/var

USER kvax
EXPOSE 8000
CMD ["gunicorn", "koshigaya_vax.wsgi", "--bind=0.0.0.0:8000", "--workers=3", "--access-logfile=-"]
