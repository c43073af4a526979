"""The partial-or-page decision (`core/htmx.py`): the fragment for HTMX, the whole page otherwise."""

import pytest
from django.test import Client, RequestFactory
from django_htmx.middleware import HtmxMiddleware

from aftercare.core.htmx import is_partial, render_partial_or_page
from aftercare.org.choices import Role

HTMX = {"HTTP_HX_REQUEST": "true"}
RESTORE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}


def _request(**headers):
    request = RequestFactory().get("/somewhere/", **headers)
    HtmxMiddleware(lambda r: None)(request)  # sets request.htmx as the middleware does
    return request


@pytest.mark.parametrize(("headers", "partial"), [({}, False), (HTMX, True), (RESTORE, False)])
def test_it_decides_partial_only_for_htmx_outside_a_history_restore(headers, partial):
    assert is_partial(_request(**headers)) is partial


def test_it_treats_a_request_without_the_middleware_as_a_page():
    assert is_partial(RequestFactory().get("/")) is False


@pytest.mark.parametrize(("headers", "template"), [({}, "page"), (HTMX, "partial"), (RESTORE, "page")])
def test_it_renders_the_chosen_template(headers, template, monkeypatch):
    chosen = []
    monkeypatch.setattr("aftercare.core.htmx.render", lambda request, name, context, **kw: chosen.append(name))
    render_partial_or_page(_request(**headers), "page", "partial", {})
    assert chosen == [template]


@pytest.mark.parametrize(("headers", "whole_page"), [({}, True), (HTMX, False), (RESTORE, True)])
def test_it_answers_a_list_page_with_its_fragment_or_the_whole_page(headers, whole_page, users, store_a):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(users[Role.CS_MANAGER])
    html = client.get("/customers/", **headers).content.decode()
    assert ("<html" in html) is whole_page
