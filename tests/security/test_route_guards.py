"""Every staff route refuses the anonymous and the wrong role — enumerated from the URL map,
so a new route cannot slip in unguarded."""

from __future__ import annotations

import re

import pytest

from tests.factories import World
from voting.domain.staff import Role

STAFF_PREFIXES = ("/station", "/official", "/council", "/desk", "/supervision")


def _staff_rules(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if "/" + rule.rule.split("/")[1] in STAFF_PREFIXES:
            path = re.sub(r"<(?:int:)?(\w+)>", "1", rule.rule)
            roles = getattr(app.view_functions[rule.endpoint], "required_roles", None)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, path, method, roles


def test_every_staff_route_requires_a_role(app):
    routes = list(_staff_rules(app))
    assert len(routes) >= 15
    unguarded = [endpoint for endpoint, _, _, roles in routes if not roles]
    assert unguarded == []


def test_staff_routes_redirect_anonymous_to_login(app, browser):
    client = browser()
    for _endpoint, path, method, _roles in _staff_rules(app):
        response = client.open(path, method=method)
        # POSTs without a CSRF token stop at 400 before anything else; GETs go to login.
        expected = {302} if method == "GET" else {302, 400}
        assert response.status_code in expected, (method, path, response.status_code)
        if response.status_code == 302:
            assert "/staff/login" in response.headers["Location"], (method, path)


@pytest.mark.parametrize("role", list(Role))
def test_staff_get_routes_refuse_other_roles(app, browser, role):
    world = World(candidates=3)
    users = {
        Role.STATION: world.station_staff,
        Role.OFFICIAL: world.official,
        Role.CLERK: world.clerk,
        Role.SUPERVISOR: world.supervisor,
    }
    client = browser(users[role])
    checked = 0
    for _endpoint, path, method, roles in _staff_rules(app):
        if method != "GET" or role in roles:
            continue
        response = client.get(path)
        assert response.status_code == 403, (role, path, response.status_code)
        checked += 1
    assert checked > 0
