"""The ASGI application for uvicorn workers, built from the environment (`karngar serve` sets DATABASE_URL)."""

import gc
import os

from api.app import create_app
from api.settings import Settings

app = create_app(Settings.from_env(), os.environ["DATABASE_URL"])

# Everything imported so far lives as long as the process: keep the garbage collector from walking it
# again and again (measured in bench/placement_statistics.py: it set the p99 of large responses).
gc.collect()
gc.freeze()
# A search request allocates tens of thousands of objects that die with it; collecting the young generation
# every 700 allocations (the default) walked them ~50 times a request (6% of a worker's time under load).
gc.set_threshold(50_000, 10, 10)
