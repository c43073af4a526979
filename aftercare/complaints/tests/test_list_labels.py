"""The complaint list shows its rows' kind, status, category and severity labels (through `|label`,
core/templatetags/choice_labels.py) in the page's language."""

from django.utils import translation

from aftercare.complaints.tests.test_views import make_form


def test_it_shows_the_labels_on_the_complaint_list_in_the_pages_language(client, specialist, store_a):
    form = make_form(store_a, created_by=specialist)
    client.force_login(specialist)
    for lang in ("en", "zh-hans"):
        html = client.get("/complaints/", headers={"Accept-Language": lang}).content.decode()
        with translation.override(lang):
            for field in ("kind", "status", "category", "severity"):
                assert f">{getattr(form, f'get_{field}_display')()}<" in html, (lang, field)
