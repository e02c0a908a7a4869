# The API in one container. Without DATABASE_URL it runs the embedded PostgreSQL with its data in
# /data (mount a volume there); with DATABASE_URL it uses that server. The web client is served at /.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KARNGAR_HOST=0.0.0.0 \
    KARNGAR_PORT=8000 \
    KARNGAR_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY auth auth
COPY db db
COPY migrations migrations
COPY resolvers resolvers
COPY schema schema
COPY web web
# Editable, so the package finds web/ beside it in /app.
RUN pip install --no-cache-dir -e .

VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["karngar", "serve"]
