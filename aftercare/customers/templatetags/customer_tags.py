"""Template helpers of the customer pages."""

from django import template

from aftercare.customers.validators import mask_mobile as _mask

register = template.Library()


@register.filter
def mask_mobile(value: str) -> str:
    """+8613812345678 → 138****5678 ('' stays '')."""
    return _mask(value) if value else ""


@register.filter
def phone(value: str) -> str:
    """+8613812345678 → 138 1234 5678 (for display after a reveal)."""
    if value and value.startswith("+86") and len(value) == 14:
        digits = value[3:]
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return value or ""


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (for pagination links); empty values are skipped."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is not None and value != "":
            params[key] = value
    return params.urlencode()


@register.filter
def can(user, perm: str) -> bool:
    """`{% if user|can:"customer.edit" %}`: the role → permission table, in templates."""
    from aftercare.org.permissions import has_perm

    return has_perm(user, perm)
