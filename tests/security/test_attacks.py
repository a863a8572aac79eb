"""The adversarial suite: every registered attack, then every invariant (both databases)."""

from __future__ import annotations

import logging

import pytest

import tests.security.cases_channels  # registers the channel cases
import tests.security.cases_core  # noqa: F401 — registers the cases
from tests.security.harness import CASES, make_ctx


@pytest.fixture
def ctx(app):  # type: ignore[no-untyped-def]
    level = logging.getLogger().level
    context = make_ctx(app, residents=60)
    context.legit_vote()
    yield context
    context.release_logs()
    logging.getLogger().setLevel(level)


def test_suite_covers_enough_cases():
    assert len(CASES) >= 60


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_attack_fails_and_invariants_hold(ctx, case_id):
    _category, description, run = CASES[case_id]
    run(ctx)
    ctx.legit_vote()  # a legitimate resident still votes right after the attack
    assert ctx.legit_refused == 0, f"{case_id}: a legitimate voter was refused"
    assert ctx.violations() == [], f"{case_id} ({description})"
