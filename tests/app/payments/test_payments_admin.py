"""Staff side of payments: search, history, refunds (never beyond what is refundable), the
reconciliation CSV, receipts, the merchant account page and `flask tenants payments`."""
import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app import crypto
from app.payments.models import MerchantAccount, Payment, Refund
from app.payments.service import receive_notification
from tenants.context import tenant_context
from tenants.db import db
from tests.app.payments.payments_support import (
    new_payment,
    reload,
    sandbox_notification,
)
from tests.conftest import form_token
from tests.support.accounts import signed_in_staff
from tests.support.cities import audit_entries, host, post_form


@pytest.fixture()
def town(make_city):
    return make_city("till", locale="en", timezone="Asia/Shanghai")


@pytest.fixture()
def admin(app, client, town):
    return signed_in_staff(app, client, town, "admin@example.com", role="admin")


def paid_payment(app, town, pairs=((1, 10_000),)):
    payment = new_payment(app, town, pairs)
    notification = sandbox_notification(app, town, payment.reference)
    with tenant_context(town, app):
        assert receive_notification("sandbox", notification)
        db.session.commit()
    return reload(app, town, payment.reference)


def refund(client, town, payment, amount, reason="Overpaid"):
    return post_form(client, town, f"/admin/payments/{payment.reference}",
                     {"amount": amount, "reason": reason})


def test_partial_refunds_up_to_the_amount_and_no_further(app, client, town, admin):
    payment = paid_payment(app, town)
    assert refund(client, town, payment, "30.00").status_code == 302
    assert refund(client, town, payment, "70.00").status_code == 302
    too_much = refund(client, town, payment, "0.01")
    assert too_much.status_code == 422
    assert "At most ¥0.00 can still be refunded." in too_much.get_data(as_text=True)
    after = reload(app, town, payment.reference)
    assert (after.status, after.refunded_fen) == ("success", 10_000)
    with tenant_context(town, app):
        assert db.session.scalars(sa.select(Refund.amount_fen).order_by(Refund.id)).all() == [
            3000, 7000]
    assert [e.cause.split(":")[0] for e in after.events][-2:] == [
        "refund of 3000 fen", "refund of 7000 fen"]
    assert len(audit_entries(app, town, "payments.refund")) == 2


def test_a_refund_over_the_refundable_amount_changes_nothing(app, client, town, admin):
    payment = paid_payment(app, town, ((1, 500),))
    answer = refund(client, town, payment, "5.01")
    assert answer.status_code == 422 and 'value="5.01"' in answer.get_data(as_text=True)
    assert refund(client, town, payment, "abc").status_code == 422
    assert reload(app, town, payment.reference).refunded_fen == 0
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0


def test_an_unpaid_payment_cannot_be_refunded(app, client, town, admin):
    payment = new_payment(app, town)
    assert refund(client, town, payment, "1.00").status_code == 422
    assert reload(app, town, payment.reference).refunded_fen == 0


def test_search_history_and_receipt(app, client, town, admin):
    paid = paid_payment(app, town)
    new_payment(app, town, ((2, 300),))
    listing = client.get("/admin/payments/?status=success", headers=host(town))
    text = listing.get_data(as_text=True)
    assert listing.status_code == 200 and paid.reference in text and text.count("<tr>") == 2
    found = client.get(f"/admin/payments/?q={paid.receipt_number}", headers=host(town))
    assert paid.reference in found.get_data(as_text=True)
    by_words = client.get("/admin/payments/?q=test+PAY", headers=host(town))
    assert paid.reference in by_words.get_data(as_text=True)  # the description, any case
    for wildcard in ("%25", "_"):  # literal characters, not LIKE's wildcards
        nothing = client.get(f"/admin/payments/?q={wildcard}", headers=host(town))
        assert paid.reference not in nothing.get_data(as_text=True)
    detail = client.get(f"/admin/payments/{paid.reference}", headers=host(town))
    assert "TRADE_SUCCESS" in detail.get_data(as_text=True)  # the provider's message
    receipt = client.get(f"/admin/payments/{paid.reference}/receipt", headers=host(town))
    assert paid.receipt_number in receipt.get_data(as_text=True)


def export(client, town, date_from, date_to) -> list[dict]:
    answer = client.get(f"/admin/payments/export.csv?date_from={date_from}&date_to={date_to}",
                        headers=host(town))
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_reconciliation_csv_covers_the_range_in_city_time(app, client, town, admin):
    paid = paid_payment(app, town, ((1, 1234),))
    new_payment(app, town, ((2, 300),))  # not paid: no money moved
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    rows = export(client, town, today, today)
    (capture,) = [row for row in rows if row["record"] == "capture"]
    assert (capture["reference"], capture["amount_yuan"]) == (paid.reference, "12.34")
    assert capture["receipt_number"] == paid.receipt_number
    assert capture["at"].endswith("+08:00")
    totals = {row["description"]: row["amount_yuan"] for row in rows if row["record"] == "total"}
    assert totals == {"captured": "12.34", "refunded": "0.00", "net": "12.34"}
    assert not [row for row in rows if row["record"] == "difference"]
    earlier = export(client, town, "2020-01-01", "2020-01-31")
    assert [row["record"] for row in earlier] == ["total"] * 3
    missing = client.get("/admin/payments/export.csv?date_from=2020-01-01", headers=host(town))
    assert missing.status_code == 422 and "Enter the last day" in missing.get_data(as_text=True)


def test_reconciliation_with_a_late_capture_matches_the_provider(app, client, town, admin):
    from app.payments.models import SandboxTrade
    from app.payments.service import cancel, find

    paid = paid_payment(app, town, ((1, 10_000),))
    assert refund(client, town, paid, "25.00").status_code == 302
    late = new_payment(app, town, ((2, 2_000),))
    notification = sandbox_notification(app, town, late.reference)  # paid at the provider…
    with tenant_context(town, app):
        cancel(find(late.reference, lock=True))  # …while the city cancels it, never told
        db.session.commit()
    assert reload(app, town, late.reference).status == "cancelled"
    with tenant_context(town, app):  # the provider's notification arrives after all
        assert receive_notification("sandbox", notification)
        db.session.commit()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    rows = export(client, town, today, today)
    captures = {row["reference"]: row for row in rows if row["record"] == "capture"}
    assert set(captures) == {paid.reference, late.reference}
    assert captures[late.reference]["note"] == "paid after the payment had ended"
    assert captures[late.reference]["status"] == "cancelled"
    refunds = sorted((row["reference"], row["amount_yuan"]) for row in rows
                     if row["record"] == "refund")
    assert refunds == sorted([(paid.reference, "25.00"), (late.reference, "20.00")])
    totals = {row["description"]: row["amount_yuan"] for row in rows if row["record"] == "total"}
    assert totals == {"captured": "120.00", "refunded": "45.00", "net": "75.00"}
    (difference,) = [row for row in rows if row["record"] == "difference"]
    assert (difference["reference"], difference["amount_yuan"]) == (late.reference, "0.00")
    assert difference["note"] == "taken after the payment was cancelled: all given back"
    with tenant_context(town, app):  # what the provider holds: the same net
        trades = db.session.scalars(sa.select(SandboxTrade)).all()
        provider_net = sum(int(round(float(t.total_amount) * 100)) - t.refunded_amount_fen
                           for t in trades if t.trade_status == "TRADE_SUCCESS")
    assert provider_net == 7_500


def test_module_staff_see_only_their_modules_payments(app, client, town):
    paid_payment(app, town)  # the tests' payable belongs to no module: admins only
    signed_in_staff(app, client, town, "clerk@example.com", role="clerk", modules=["announcements"])
    assert client.get("/admin/payments/", headers=host(town)).status_code == 403
    assert client.get("/admin/payments/merchant", headers=host(town)).status_code == 403


def test_the_merchant_page_stores_keys_encrypted_and_never_shows_them(app, client, town, admin):
    from app.payments import signing

    private = signing.generate_private_key()
    public = signing.public_key_of(signing.generate_private_key())
    page = client.get("/admin/payments/merchant", headers=host(town))
    refused = client.post("/admin/payments/merchant", headers=host(town), data={
        "csrf_token": form_token(page), "provider": "alipay", "expiry_minutes": "30"})
    assert refused.status_code == 422  # Alipay without credentials
    bad_key = client.post("/admin/payments/merchant", headers=host(town), data={
        "csrf_token": form_token(page), "provider": "sandbox", "expiry_minutes": "30",
        "alipay_private_key": "nonsense"})
    assert "not an RSA private key" in bad_key.get_data(as_text=True)
    saved = client.post("/admin/payments/merchant", headers=host(town), data={
        "csrf_token": form_token(page), "provider": "alipay", "expiry_minutes": "15",
        "alipay_app_id": "2021000000000001", "alipay_private_key": private,
        "alipay_public_key": public})
    assert saved.status_code == 302
    again = client.get("/admin/payments/merchant", headers=host(town)).get_data(as_text=True)
    assert "PRIVATE KEY" not in again and "2021000000000001" in again
    with tenant_context(town, app):
        row = db.session.get(MerchantAccount, 1)
        assert "PRIVATE KEY" not in row.alipay_private_key_encrypted
        assert crypto.decrypt(row.alipay_private_key_encrypted) == private
        assert (row.provider, row.expiry_minutes) == ("alipay", 15)
    (entry,) = audit_entries(app, town, "payments.merchant")
    assert entry.after["alipay_private_key_encrypted"] == "set"


def test_the_cli_sets_alipay_credentials(app, cli, town, tmp_path):
    from app.payments import signing

    key_file, public_file = tmp_path / "private.pem", tmp_path / "alipay.pem"
    key_file.write_text(signing.generate_private_key())
    public_file.write_text(signing.public_key_of(signing.generate_private_key()))
    refused = cli.invoke(args=["tenants", "payments", town.slug, "--provider", "alipay"])
    assert refused.exit_code != 0 and "nothing changed" in refused.output
    result = cli.invoke(args=[
        "tenants", "payments", town.slug, "--provider", "alipay", "--app-id", "2021000000000002",
        "--private-key-file", str(key_file), "--alipay-public-key-file", str(public_file),
        "--gateway", "https://openapi-sandbox.dl.alipaydev.com/gateway.do"])
    assert result.exit_code == 0, result.output
    assert "alipay private key   set" in result.output and "BEGIN" not in result.output
    with tenant_context(town, app):
        row = db.session.get(MerchantAccount, 1)
        assert row.alipay_gateway_url.startswith("https://openapi-sandbox")
    missing = cli.invoke(args=["tenants", "payments", "no-such-city"])
    assert missing.exit_code != 0 and "no city" in missing.output


def test_an_alipay_city_sends_the_citizen_to_alipay_with_a_signed_request(app, client, town,
                                                                          tmp_path):
    from urllib.parse import parse_qsl, urlsplit

    from app.payments import signing
    from tests.app.payments.payments_support import remember

    merchant_key = signing.generate_private_key()
    with tenant_context(town, app):
        from app.payments import merchant

        merchant.configure(provider="alipay", app_id="2021000000000003", private_key=merchant_key,
                           public_key=signing.public_key_of(signing.generate_private_key()))
        db.session.commit()
    payment = new_payment(app, town, ((1, 990),))
    remember(client, town, payment)
    page = client.get(f"/payments/{payment.reference}", headers=host(town))
    phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    answer = client.post(f"/payments/{payment.reference}/pay", data={
        "csrf_token": form_token(page)}, headers={**host(town), "User-Agent": phone})
    assert answer.status_code == 303
    assert answer.location.startswith("https://openapi.alipay.com/gateway.do?")
    params = dict(parse_qsl(urlsplit(answer.location).query))
    assert params["method"] == "alipay.trade.wap.pay" and params["app_id"] == "2021000000000003"
    assert '"total_amount":"9.90"' in params["biz_content"]
    assert params["notify_url"] == f"http://{town.domains[0]}/payments/notify/alipay"
    assert signing.verify(signing.content_to_sign(params), params["sign"],
                          signing.public_key_of(merchant_key))
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(Payment.status)) == "started"
