"""Serving one URL as a full page or as the fragment htmx swaps in, and answering actions either way."""

from flask import flash, make_response, redirect, render_template, request


def is_htmx_swap():
    """Tell whether this request is an htmx swap (and not a boosted page load)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")


def _render(template, status, context):
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def render_page_or_fragment(page_template, fragment_template, **context):
    """Render the fragment for an htmx swap, else the page that includes it."""
    return _render(fragment_template if is_htmx_swap() else page_template, 200, context)


def fragment_or_redirect(fragment, redirect_to, *, status=200, message=None, ok=True, page=None, **context):
    """Answer an action: the fresh fragment for an htmx swap, else a plain form post's answer.

    A plain post that failed is shown `page` again (its form says what was wrong) when one is
    given; otherwise `message` is flashed and the browser goes back to `redirect_to`.
    """
    if is_htmx_swap():
        return _render(fragment, status, context)
    if status >= 400 and page:
        return _render(page, status, context)
    if message:
        flash(message, "success" if ok else "error")
    return redirect(redirect_to)
