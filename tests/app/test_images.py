"""Uploaded images are recognised by their content; SVGs are rebuilt from an allow-list."""
import pytest

from app.images import ImageRefused, read_image, sanitize_svg
from tests.support.images import jpeg, png


def test_png_and_jpeg_are_recognised_by_their_content():
    assert read_image(png()).content_type == "image/png"
    assert read_image(jpeg()).content_type == "image/jpeg"
    assert read_image(png()).extension == "png" and read_image(jpeg()).extension == "jpg"


@pytest.mark.parametrize("data, message", [
    (b"GIF89a\x01\x00\x01\x00", "must be a PNG, JPEG or SVG"),
    (b"just some text pretending to be a .png", "must be a PNG, JPEG or SVG"),
    (b"%PDF-1.7", "must be a PNG, JPEG or SVG"),
    (b"", "empty file"),
    (png()[:40], "truncated PNG"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "damaged PNG"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "damaged JPEG"),
    (b'<html><body onload="x()"></body></html>', "not an SVG image"),
    (b"<svg", "well-formed"),
])
def test_anything_else_is_refused(data, message):
    with pytest.raises(ImageRefused, match=message):
        read_image(data, "logo")


def test_the_size_limit_is_enforced():
    with pytest.raises(ImageRefused, match="the limit is 1 KB"):
        read_image(png(40, 40) + b"\x00" * 2048, "logo", max_bytes=1024)
    assert read_image(png(), "logo", max_bytes=1024)


HOSTILE_SVG = b"""<?xml version="1.0"?>
<?xml-stylesheet href="http://evil.example/x.css"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
     viewBox="0 0 64 64" onload="alert(1)" inkscape:version="1.0">
  <title>City logo</title>
  <script>alert(document.cookie)</script>
  <script xlink:href="http://evil.example/x.js"/>
  <style>@import url(http://evil.example/a.css); rect { fill: red }</style>
  <defs><linearGradient id="g"><stop offset="0" stop-color="#1b5e20"/></linearGradient>
        <path id="p" d="M0 0h10v10z"/></defs>
  <rect width="64" height="64" fill="url(#g)" onclick="steal()" onmouseover="x()"
        style="fill:url(#g);stroke:url(http://evil.example/s.svg#a);opacity:.9"/>
  <circle cx="5" cy="5" r="4" fill="url(http://evil.example/p.svg#x)" stroke="#000"/>
  <use href="#p"/><use xlink:href="#p"/>
  <use href="http://evil.example/sprite.svg#icon"/>
  <use xlink:href="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=#x"/>
  <image href="http://evil.example/tracker.png" width="1" height="1"/>
  <a href="javascript:alert(1)"><text x="1" y="9">Click</text></a>
  <foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="http://evil.example"/></foreignObject>
  <animate attributeName="href" to="javascript:alert(1)"/>
  <set attributeName="onload" to="alert(1)"/>
  <text x="2" y="20" font-family="serif">Lishui <tspan>City</tspan></text>
  <inkscape:thing>editor data</inkscape:thing>
</svg>"""


def test_the_svg_sanitiser_keeps_the_drawing_and_drops_everything_active_or_external():
    clean = sanitize_svg(HOSTILE_SVG).decode()
    for gone in ("script", "alert", "onload", "onclick", "onmouseover", "evil.example",
                 "<style", "@import", "<image", "foreignObject", "iframe", "javascript",
                 "<animate", "<set", "data:", "inkscape", "<a ", "xml-stylesheet"):
        assert gone not in clean, gone
    for kept in ('viewBox="0 0 64 64"', "<title>City logo</title>", 'fill="url(#g)"',
                 'stop-color="#1b5e20"', 'href="#p"', "opacity:.9", "fill:url(#g)",
                 'stroke="#000"', ">Lishui ", ">City</tspan>", 'd="M0 0h10v10z"'):
        assert kept in clean, kept
    assert read_image(clean.encode()).content_type == "image/svg+xml"  # still a valid SVG


@pytest.mark.parametrize("svg", [
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "xx">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
    b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>',
])
def test_svgs_with_a_dtd_or_entities_are_refused(svg):
    with pytest.raises(ImageRefused, match="DTD or entities"):
        sanitize_svg(svg)


def test_an_svg_without_the_svg_namespace_is_refused():
    with pytest.raises(ImageRefused, match="not an SVG image"):
        read_image(b"<svg><rect width='1' height='1'/></svg>")


