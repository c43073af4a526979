"""Form helpers shared by every app."""

from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from .text import clean_text


class CleanTextFormMixin:
    """A bound form's submitted text passes `clean_text` (no C0 controls but tab and newline; CR LF as LF) before
    any field sees it, so `max_length`, `clean_<field>` and whatever the form's data is stored as get clean text,
    whether or not the write ends in a model's `full_clean`. Files are not touched."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            self.data = clean_form_data(self.data)


def clean_form_data(data):
    """A copy of submitted form data (a QueryDict, MultiValueDict or dict) with every str value cleaned."""
    if isinstance(data, MultiValueDict):  # a QueryDict too: every value of every key
        cleaned = QueryDict(mutable=True, encoding=data.encoding) if isinstance(data, QueryDict) else MultiValueDict()
        for key, values in data.lists():
            cleaned.setlist(key, [clean_text(v) for v in values])
        return cleaned
    return {
        key: [clean_text(v) for v in value] if isinstance(value, list | tuple) else clean_text(value)
        for key, value in data.items()
    }
