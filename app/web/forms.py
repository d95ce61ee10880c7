"""The convention every form page keeps: a form sent with problems comes back with the values
kept, each problem named next to its field, and the status 422 (Unprocessable Content)."""
INVALID_FORM = 422


def form_status(form) -> int:
    """The status of a page showing `form`: 422 once it was sent (and so is invalid), else 200."""
    return INVALID_FORM if form.is_submitted() else 200
