"""The API's request parser: every string of a JSON body, a form body and the query string passes `clean_text`."""

from ninja.parser import Parser

from .forms import clean_form_data
from .text import clean_text_deep


class CleanTextParser(Parser):
    """django-ninja's parser, with free text cleaned (no C0 controls but tab and newline) before any schema sees
    it, so no handler can store a control character. Uploaded files are left as they are."""

    def parse_body(self, request):
        return clean_text_deep(super().parse_body(request))

    def parse_querydict(self, data, list_fields, request):
        return super().parse_querydict(clean_form_data(data), list_fields, request)
