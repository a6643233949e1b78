"""Serving one URL as a full page or as the fragment htmx swaps in."""

from flask import make_response, render_template, request


def is_htmx_swap():
    """Tell whether this request is an htmx swap (and not a boosted page load)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")


def render_page_or_fragment(page_template, fragment_template, **context):
    """Render the fragment for an htmx swap, else the page that includes it."""
    template = fragment_template if is_htmx_swap() else page_template
    response = make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response
