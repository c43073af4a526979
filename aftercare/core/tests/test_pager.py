"""The shared previous/next links (`templates/_pager.html`) used by every paginated list."""

import html

from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from aftercare.testing import factories as f


def render(query: str, number: int, **extra) -> str:
    request = RequestFactory().get("/x/?" + query)
    page = Paginator(range(60), 25).get_page(number)
    with translation.override("en"):
        return html.unescape(render_to_string("_pager.html", {"page": page, **extra}, request=request))


def test_it_keeps_the_query_and_adds_htmx_when_asked():
    out = render("q=%E5%BC%A0&page=2", 2, hx_target="#results")
    assert 'href="?q=%E5%BC%A0&page=1"' in out and 'href="?q=%E5%BC%A0&page=3"' in out
    assert 'hx-get="?q=%E5%BC%A0&page=3" hx-target="#results"' in out
    assert "Page 2 of 3" in out


def test_it_keeps_a_kind_and_renders_plain_links_without_a_target():
    out = render("", 1, pager_kind="missing_address")
    assert 'href="?page=2&kind=missing_address"' in out
    assert "hx-get" not in out and "Previous" not in out


def test_it_renders_nothing_for_one_page():
    request = RequestFactory().get("/x/")
    page = Paginator(range(3), 25).get_page(1)
    assert render_to_string("_pager.html", {"page": page}, request=request).strip() == ""


def test_it_links_the_customer_list_pages(client, specialist, store_a):
    f.CustomerFactory.create_batch(30, store=store_a, name="翻页客户")
    client.force_login(specialist)
    body = html.unescape(client.get(reverse("customers:list"), {"q": "翻页"}).content.decode())
    assert 'hx-target="#results"' in body and "page=2" in body
    second = client.get(reverse("customers:list"), {"q": "翻页", "page": 2}).context["page"]
    assert len(second) == 5
