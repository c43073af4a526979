"""`manage.py api_token_create USERNAME ["NAME"] [--name NAME]`: make an API token and print its key once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from aftercare.core.services import api_token_create

DEFAULT_NAME = "integration"


class Command(BaseCommand):
    help = "Create an API token for a staff user and print the key (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "token_name", nargs="?", metavar="NAME", help="What the token is for (shown in the admin); or --name."
        )
        parser.add_argument("--name", help=f"What the token is for (default {DEFAULT_NAME!r}).")

    def handle(self, *args, username: str, token_name: str | None, name: str | None, **options):
        if token_name and name and token_name != name:
            raise CommandError("Give the token's name once: as the second argument or with --name.")
        name = token_name or name or DEFAULT_NAME
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is not active.")
        if not hasattr(user, "staff"):
            raise CommandError(f"User {username!r} has no staff record; the API accepts staff only.")
        token, key = api_token_create(user=user, name=name)
        self.stderr.write(f"Token {token.name!r} ({token.prefix}…) for {username}. Store the key now; it is not kept:")
        self.stdout.write(key)
