# One image for every app process of the stream manager (api, worker, beat, ...):
# docker-compose.yml runs it once per supervisord program, each with that program's command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/var/lib/stream-manager

# An unprivileged user owns only the data folder; the code stays read-only to it. The data
# folder is created here so a fresh named volume mounted on it starts out owned by that user.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app \
    && mkdir -p "$DATA_DIR/media" "$DATA_DIR/recordings" "$DATA_DIR/run" \
    && chown -R app:app "$DATA_DIR"

WORKDIR /app

# Only what the processes run: no .venv, var/, tests or .git from the build context.
COPY pyproject.toml celeryconfig.py wsgi.py ./
COPY app ./app
COPY core ./core
COPY workers ./workers
COPY render ./render
RUN pip install . && rm -rf build ./*.egg-info

USER app
EXPOSE 4200

# No CMD of its own: each compose service gives the command of its supervisord program.
