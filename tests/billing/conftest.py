from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.billing.scratch import Run, scratch_run


@pytest.fixture
def run(cluster_url: str, worker_id: str) -> Iterator[Run]:
    """A throwaway database with TENANTS tenants, for tests that start real workers."""
    with scratch_run(cluster_url, f"billing_run_{worker_id}") as scratch:
        yield scratch
