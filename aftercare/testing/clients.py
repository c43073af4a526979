"""Test clients: a logged-in browser session and an API client with a token of its own."""

from django.test import Client

from aftercare.core.services import api_token_create


def page_client(user, lang: str = "en") -> Client:
    """A client logged in as `user`, asking for pages in `lang`."""
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    return client


def api_client(user, lang: str = "en") -> Client:
    """A client calling the API with a new token of `user`."""
    _, key = api_token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE=lang)
