"""The ASGI application for uvicorn workers, built from the environment (`karngar serve` sets DATABASE_URL)."""

import os

from api.app import create_app
from api.settings import Settings

app = create_app(Settings.from_env(), os.environ["DATABASE_URL"])
