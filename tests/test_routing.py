"""Which route answers a request does not depend on the order the routers are included in
(app.py orders them by traffic): no route answers the path of a route of another router."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from sqlalchemy.engine import URL

from hisaab.app import create_app
from hisaab.core.problems import flat_routes
from hisaab.db import Database


def _sample(path: str) -> str:
    """A concrete path for a route's template: each parameter an id-like value."""
    return re.sub(r"\{[^}]+\}", "x_1", path)


def test_every_route_answers_its_own_paths_whatever_the_order_of_the_routers() -> None:
    app = create_app(Database.connect(URL.create("postgresql+psycopg")), None)
    routes = [r for r in flat_routes(app.router.routes) if isinstance(r, APIRoute)]
    assert len(routes) > 50
    shadowed = []
    for route in routes:
        sample = _sample(route.path)
        for other in routes:
            if other is route or not (other.methods & route.methods):
                continue
            if other.path_regex.match(sample) and _router_of(other) != _router_of(route):
                shadowed.append((sorted(route.methods), route.path, other.path))
    assert shadowed == []


def _router_of(route: APIRoute) -> str:
    return route.endpoint.__module__
