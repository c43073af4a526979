"""Malformed request bodies to the UI's upload views: Django's own 400, never a 500 (the API has its own handlers,
see test_api.py)."""

import pytest
from django.test import Client

from aftercare.org.choices import Role
from aftercare.testing import factories as f

BODY = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n1,2\r\n--x--\r\n'


@pytest.fixture
def feedback(store_a, users):
    customer = f.CustomerFactory(store=store_a)
    from aftercare.complaints.services.workflow import feedback_create

    return feedback_create(
        actor=users[Role.CS_SPECIALIST], customer=customer, kind="complaint", source="walk_in",
        category="mechanical", text="异响",
    )


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
@pytest.mark.parametrize("csrf", [True, False])
def test_it_answers_a_malformed_multipart_upload_with_400(users, feedback, content_type, csrf):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(users[Role.CS_MANAGER])
    client.cookies["csrftoken"] = "x" * 32  # a browser's CSRF cookie: the check then reads the (malformed) body
    for url in ("/imports/", f"/complaints/{feedback.pk}/attachment/"):
        response = client.post(url, data=BODY, content_type=content_type)
        assert response.status_code == 400, (url, response.status_code)
        assert b"/work/" not in response.content and b"Traceback" not in response.content
