"""Fixtures of the dealer-evaluation tests: the group's quality engineer and the itinerant service engineer of store
A (from the root `users` fixture)."""

import pytest

from aftercare.org.choices import Role


@pytest.fixture
def engineer(users):
    return users[Role.QUALITY_ENGINEER]


@pytest.fixture
def evaluator(users):
    return users[Role.ITINERANT_SERVICE]
