"""The OpenAPI document names each schema once: django-ninja files every schema under its class name, so two
apps' `EventOut` would silently serve one app's answers under the other's description."""

import importlib
import inspect
from collections import defaultdict

from django.apps import apps
from ninja import Schema


def test_it_gives_every_api_schema_its_own_name():
    where = defaultdict(set)
    for config in apps.get_app_configs():
        if not config.name.startswith("aftercare."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.api")
        except ModuleNotFoundError:
            continue
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, Schema) and value.__module__ == module.__name__:
                where[name].add(module.__name__)
    assert len(where) > 20  # the scan sees the apps' schemas
    assert {name: sorted(mods) for name, mods in where.items() if len(mods) > 1} == {}


def _schemas(cls=Schema):
    for sub in cls.__subclasses__():
        yield sub
        yield from _schemas(sub)


def test_it_names_every_schema_of_every_api_module_once():
    """Also the routers split into modules (`care/api/*.py`, `reports/api_*.py`, `reports/mail/api.py`): every
    schema class the API serves, found through the class tree once `aftercare.api` has imported every router."""
    importlib.import_module("aftercare.api")
    where = defaultdict(set)
    for schema in _schemas():
        if schema.__module__.startswith("aftercare.") and ".tests" not in schema.__module__:
            where[schema.__name__].add(schema.__module__)
    assert len(where) > 100
    assert {name: sorted(mods) for name, mods in where.items() if len(mods) > 1} == {}
