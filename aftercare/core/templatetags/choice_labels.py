"""`{{ obj|label:"status" }}`: the label of a field's choice, as `obj.get_status_display` shows it, for lists.

Django's `get_FOO_display` builds a dict of the field's choices on every call, hashing each (value, label) pair,
and hashing a lazy label translates it: ~25 µs a call with 6–8 choices, 100 calls (2.5 ms) on a page of 25
complaints. Here the value → lazy label dict is built once per field; only the label shown is translated, in the
language active when the page renders (docs/benchmarks.md "Load")."""

from django import template
from django.utils.encoding import force_str

register = template.Library()

_LABELS: dict = {}


@register.filter
def label(obj, field_name: str):
    field = obj._meta.get_field(field_name)
    labels = _LABELS.get(field)
    if labels is None:
        labels = _LABELS[field] = dict(field.flatchoices)
    value = getattr(obj, field.attname)
    return force_str(labels.get(value, value), strings_only=True)
