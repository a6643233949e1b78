"""The Graph API errors the sandbox answers with, as an exception a handler can raise."""

from portal.sandbox import tokens

NO_PERMISSION = "(#10) Application does not have permission for this action"


class Refusal(Exception):
    """End the call with this Meta error: (status, body), and perhaps extra response headers."""

    def __init__(self, result, headers=None):
        super().__init__(result[1]["error"]["message"])
        self.result = result
        self.headers = dict(headers or {})


def refuse(message, code, **kwargs):
    """Return a Refusal with Meta's error body (see tokens.graph_error for the keywords)."""
    return Refusal(tokens.graph_error(message, code, **kwargs))


def unsupported(method, object_id):
    """Meta's 100/33: the object does not exist, or this token may not see it."""
    return refuse(
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation",
        100,
        subcode=33,
        error_type="GraphMethodException",
    )


def no_permission():
    """Meta's (#10): the token lacks the permission or the Page task the call needs."""
    return refuse(NO_PERMISSION, 10)


def bad_parameter(message):
    """Meta's (#100) for a parameter it refuses; message starts with "(#100) "."""
    return refuse(message, 100)
