"""`{% chart spec %}` draws a chart built by `aftercare.core.charts`; `{% chart_scripts %}` adds the two scripts that
draw it (once per page, in `{% block scripts %}`).

    {% load charts %}
    {% chart rate_chart id="rate-chart" %}
    …
    {% block scripts %}{% chart_scripts %}{% endblock %}
"""

from django import template

register = template.Library()


@register.inclusion_tag("core/_chart.html")
def chart(spec: dict, id: str = ""):  # noqa: A002  the element's HTML id
    """A `<figure data-chart>` with a `<canvas>` and the spec as a JSON data block (`json_script`: not executed,
    so the Content-Security-Policy allows it); an empty chart says so instead."""
    return {"spec": spec, "id": id}


@register.inclusion_tag("core/_chart_scripts.html")
def chart_scripts():
    return {}
