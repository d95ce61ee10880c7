import pytest

from tenants.naming import (
    InvalidName,
    cities_role_name,
    normalize_domain,
    role_name,
    schema_name,
    strip_port,
    validate_slug,
)


@pytest.mark.parametrize("slug", ["ab", "lishui", "new-york-2", "a" * 40])
def test_valid_slugs(slug):
    assert validate_slug(slug) == slug


@pytest.mark.parametrize("slug", [
    "", "a", "Lishui", "2cities", "-lead", "trail-", "double--hyphen", "under_score", "a" * 41,
    "x'; DROP SCHEMA platform; --", "城市", "admin", "www",
])
def test_invalid_slugs_are_refused_with_a_reason(slug):
    with pytest.raises(InvalidName, match="slug"):
        validate_slug(slug)


def test_schema_and_role_names_are_derived_safely():
    assert schema_name("new-york") == "city_new_york"
    assert role_name(16384, "new-york") == "civic_16384_new_york"
    longest = role_name(4294967295, "a" * 40)
    assert len(longest) <= 63  # PostgreSQL truncates identifiers past 63 bytes
    with pytest.raises(InvalidName):
        schema_name("bad_slug")


def test_roles_of_two_databases_never_collide():
    assert role_name(16384, "lishui") != role_name(16385, "lishui")


def test_no_city_role_can_take_the_name_of_the_cities_group():
    assert cities_role_name(16384) == "civic_16384__cities"
    assert role_name(16384, "cities") != cities_role_name(16384)
    with pytest.raises(InvalidName):
        role_name(16384, "-cities")


@pytest.mark.parametrize(("host", "expected"), [
    ("lishui.example.gov", "lishui.example.gov"),
    ("Lishui.Example.GOV:5000", "lishui.example.gov"),
    ("lishui.example.gov.", "lishui.example.gov"),
    ("[::1]:5000", "[::1]"),
    ("", ""),
])
def test_strip_port(host, expected):
    assert strip_port(host) == expected


def test_domains_are_normalized():
    assert normalize_domain(" Lishui.Example.gov. ") == "lishui.example.gov"
    assert normalize_domain("丽水.中国") == "xn--viq734e.xn--fiqs8s"


@pytest.mark.parametrize("domain", [
    "", "http://lishui.gov", "lishui.gov:5000", "lishui.gov/path", "-bad.gov", "a..b",
    "x" * 64 + ".gov",
])
def test_invalid_domains_are_refused(domain):
    with pytest.raises(InvalidName, match="domain"):
        normalize_domain(domain)
