"""Marshmallow fields the API's schemas share."""
import marshmallow as ma

# The app refuses a NUL character anywhere in a request (app/web/input_checks.py): say so in
# the OpenAPI document too, so clients (and schemathesis) know.
WITHOUT_NUL = ma.validate.Regexp(r"^[^\x00]*$", error="A NUL character is not accepted.")


def text(max_length: int, min_length: int = 0, **kwargs) -> ma.fields.String:
    """A string of at most `max_length` characters, without NUL."""
    return ma.fields.String(validate=[ma.validate.Length(min=min_length, max=max_length),
                                      WITHOUT_NUL], **kwargs)
