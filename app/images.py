"""Images people upload (a city's logo and hero, passport photos …), recognised by their content,
never their name: PNG and JPEG are checked down to their dimensions, SVG is rebuilt through an
allow-list (no script, no event handler, no reference outside the document; DTDs and entities
refused by defusedxml). Anything else is refused with a message that says why."""
import hashlib
import math
import re
import struct
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml

MAX_IMAGE_SIDE = 10_000
DEFAULT_MAX_BYTES = 512 * 1024


class ImageRefused(ValueError):
    """The file is not an image this site accepts; the message says why."""

@dataclass(frozen=True)
class Image:
    data: bytes
    content_type: str
    extension: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def file_name(self, kind: str) -> str:
        return f"{kind}-{self.digest[:16]}.{self.extension}"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{math.ceil(n / 1024)} KB"


def read_image(data: bytes, what: str = "image", max_bytes: int = DEFAULT_MAX_BYTES) -> Image:
    """A PNG, JPEG or SVG image, recognised by its content (never its name); SVGs come back
    sanitised. Anything else, or anything larger than max_bytes, is refused."""
    if len(data) > max_bytes:
        raise ImageRefused(f"the {what} is {_size(len(data))}; the limit is {_size(max_bytes)}")
    if not data:
        raise ImageRefused(f"the {what} is an empty file")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        _check_png(data, what)
        return Image(data, "image/png", "png")
    if data.startswith(b"\xff\xd8\xff"):
        _check_jpeg(data, what)
        return Image(data, "image/jpeg", "jpg")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return Image(sanitize_svg(data, what), "image/svg+xml", "svg")
    raise ImageRefused(f"the {what} must be a PNG, JPEG or SVG image; this file is none of "
                        "these")


def _check_side(width: int, height: int, what: str, kind: str) -> None:
    if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
        raise ImageRefused(f"the {what} is not a usable {kind} image ({width}x{height} pixels)")


def _check_png(data: bytes, what: str) -> None:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageRefused(f"the {what} is a damaged PNG file")
    width, height = struct.unpack(">II", data[16:24])
    _check_side(width, height, what, "PNG")
    if b"IEND" not in data[-16:]:
        raise ImageRefused(f"the {what} is a truncated PNG file")


_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _check_jpeg(data: bytes, what: str) -> None:
    """Walk the segments up to a start-of-frame marker and read the image's size there."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF_MARKERS and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            _check_side(width, height, what, "JPEG")
            return
        if marker == 0xDA or length < 2:  # image data before any frame header
            break
        i += 2 + length
    raise ImageRefused(f"the {what} is a damaged JPEG file")


SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

# Elements a logo or a hero image needs; anything else (script, style, foreignObject, image,
# a, animate, set, metadata of editors ...) is dropped with its content.
SVG_ELEMENTS = frozenset({
    "svg", "g", "defs", "title", "desc", "symbol", "use", "path", "rect", "circle", "ellipse",
    "line", "polyline", "polygon", "text", "tspan", "linearGradient", "radialGradient", "stop",
    "clipPath", "mask", "pattern",
})
SVG_ATTRIBUTES = frozenset({
    "id", "class", "viewBox", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy",
    "r", "rx", "ry", "fx", "fy", "d", "points", "transform", "preserveAspectRatio", "version",
    "fill", "fill-opacity", "fill-rule", "clip-rule", "clip-path", "mask", "stroke",
    "stroke-width", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
    "stroke-dasharray", "stroke-dashoffset", "stroke-opacity", "opacity", "color",
    "gradientUnits", "gradientTransform", "spreadMethod", "offset", "stop-color",
    "stop-opacity", "clipPathUnits", "maskUnits", "maskContentUnits", "patternUnits",
    "patternContentUnits", "patternTransform", "font-family", "font-size", "font-weight",
    "font-style", "text-anchor", "dominant-baseline", "letter-spacing", "dx", "dy",
    "role", "aria-label", "aria-hidden", "focusable", "display", "visibility", "style",
    "href", f"{{{XLINK_NS}}}href", f"{{{XML_NS}}}space", f"{{{XML_NS}}}lang",
})
# Properties kept from a style attribute (editors such as Inkscape write most styling there).
SVG_STYLE_PROPERTIES = frozenset({
    "fill", "fill-opacity", "fill-rule", "clip-rule", "clip-path", "mask", "stroke",
    "stroke-width", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
    "stroke-dasharray", "stroke-dashoffset", "stroke-opacity", "opacity", "color",
    "stop-color", "stop-opacity", "font-family", "font-size", "font-weight", "font-style",
    "text-anchor", "dominant-baseline", "letter-spacing", "display", "visibility",
})
_URL = re.compile(r"url\s*\(", re.IGNORECASE)
_LOCAL_URL = re.compile(r"url\(\s*['\"]?#[\w.:-]+['\"]?\s*\)", re.IGNORECASE)
_UNSAFE_VALUE = re.compile(r"[\\<>]|expression\s*\(|@import|javascript:|data:",
                           re.IGNORECASE)
MAX_SVG_ELEMENTS = 20_000


def _safe_value(value: str) -> bool:
    """No external reference: url() only to an id in the same document, no escapes."""
    if _UNSAFE_VALUE.search(value):
        return False
    return not _URL.search(_LOCAL_URL.sub("", value))


def _clean_style(style: str) -> str:
    kept = []
    for declaration in style.split(";"):
        name, sep, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if sep and name in SVG_STYLE_PROPERTIES and value and _safe_value(value):
            kept.append(f"{name}:{value}")
    return ";".join(kept)


def _local_name(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def _clean_attributes(source: ET.Element, target: ET.Element) -> None:
    for name, value in source.attrib.items():
        namespace, local = _local_name(name)
        if name not in SVG_ATTRIBUTES or local.lower().startswith("on"):
            continue
        if local == "href":
            if value.strip().startswith("#") and _safe_value(value):
                target.set(name, value.strip())
            continue
        if local == "style":
            value = _clean_style(value)
            if value:
                target.set(name, value)
            continue
        if _safe_value(value):
            target.set(name, value)


def _copy_allowed(source: ET.Element, count: list[int]) -> ET.Element | None:
    namespace, name = _local_name(source.tag) if isinstance(source.tag, str) else (None, "")
    if namespace != SVG_NS or name not in SVG_ELEMENTS:
        return None
    count[0] += 1
    if count[0] > MAX_SVG_ELEMENTS:
        raise ImageRefused("the SVG image has too many elements")
    target = ET.Element(source.tag)
    _clean_attributes(source, target)
    target.text = source.text if name in {"text", "tspan", "title", "desc"} else None
    for child in source:
        copied = _copy_allowed(child, count)
        if copied is not None:
            copied.tail = child.tail if name in {"text", "tspan"} else None
            target.append(copied)
    return target


def sanitize_svg(data: bytes, what: str = "image") -> bytes:
    """The SVG rebuilt from allowed elements and attributes only: no script, no event handler
    attributes, no style sheets, no reference outside the document. Parsed with defusedxml,
    so DTDs, entities and external entities are refused."""
    try:
        root = parse_xml(data, forbid_dtd=True)
    except DefusedXmlException:
        raise ImageRefused(f"the {what} is refused: SVG files with a DTD or entities are not "
                            "accepted") from None
    except ET.ParseError as error:
        raise ImageRefused(f"the {what} is neither PNG, JPEG nor a well-formed SVG image "
                            f"({error})") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ImageRefused(f"the {what} is an XML file but not an SVG image (its root element "
                            f"must be <svg> in the SVG namespace)")
    clean = _copy_allowed(root, [0])
    if "viewBox" not in clean.attrib and {"width", "height"} <= set(clean.attrib):
        width, height = (re.sub(r"[a-z%]+$", "", clean.get(k).strip()) for k in ("width",
                                                                                 "height"))
        try:
            clean.set("viewBox", f"0 0 {float(width):g} {float(height):g}")
        except ValueError:
            pass
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(clean, encoding="utf-8",
                                                                      xml_declaration=False)
