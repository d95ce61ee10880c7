"""The two formats of Open311 GeoReport v2: XML (the required one: no namespace, an XML
declaration with encoding utf-8, Content-Type text/xml) and JSON mapped from it by the
specification's "Spark convention" (a list element becomes an array of its items, an element
of elements an object, an empty element null). One function writes both from the same Python
value, so the two never disagree; the tests parse both."""
import json
import re
from decimal import Decimal
from xml.etree import ElementTree as ET

from flask import Response

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The element of each item of a list element, as the specification names them.
ITEM_NAMES = {"services": "service", "service_requests": "request", "errors": "error",
              "attributes": "attribute", "values": "value", "endpoints": "endpoint",
              "formats": "format"}
# Characters XML 1.0 can't carry at all (control characters but tab, line feed and return).
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text_of(value) -> str:
    """A value as the specification writes it in XML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return NOT_IN_XML.sub("", str(value))


def _element(name: str, value) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, list):
        element.extend(_element(ITEM_NAMES[name], item) for item in value)
    elif isinstance(value, dict):
        element.extend(_element(key, item) for key, item in value.items())
    elif value is not None:
        element.text = text_of(value)
    return element


def _json_value(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def body(root: str, value, fmt: str) -> str:
    """The document: `value` (a list, or a dict for a single object) under the element
    `root`."""
    if fmt == "json":
        return json.dumps(value, ensure_ascii=False, default=_json_value)
    tree = ET.tostring(_element(root, value), encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{tree}'


def respond(root: str, value, fmt: str, status: int = 200) -> Response:
    return Response(body(root, value, fmt), status=status, content_type=CONTENT_TYPES[fmt])


def errors(fmt: str, status: int, descriptions: list[str], code: int | None = None) -> Response:
    """The specification's error document: one error per description."""
    return respond("errors", [{"code": code or status, "description": description}
                              for description in descriptions], fmt, status)
