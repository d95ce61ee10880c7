"""What can go wrong when asking for a payment; each says what in the city's language."""
from flask_babel import lazy_gettext as _l

from app.i18n import TranslatedError


class PaymentError(TranslatedError):
    message = _l("The payment could not be made.")

    def __init__(self, message=None, payment=None):
        super().__init__(message)
        self.payment = payment


class AlreadyPaid(PaymentError):
    """An item already has a successful payment (`.payment`)."""
    message = _l("This has already been paid.")


class PaymentInProgress(PaymentError):
    """An item is held by another unfinished payment (`.payment`): send the citizen there."""
    message = _l("A payment for this is already in progress.")


class PaymentConflict(PaymentError):
    """The idempotency key was used for a different request."""
    message = _l("This payment request does not match the one made before with the same form. "
                 "Go back, reload the page and try again.")


class PaymentUnavailable(PaymentError):
    """The city takes no payments for this now (module disabled, provider not set up)."""
    message = _l("Payments are not available at the moment.")


class RefundRefused(PaymentError):
    message = _l("This refund is not possible.")


class ProviderError(PaymentError):
    """The provider could not be reached or refused a call."""
    message = _l("The payment provider could not be reached. Please try again later.")


class ProviderRefused(ProviderError):
    """The provider answered, and said no (its sub_code is logged)."""
    message = _l("The payment provider refused this.")

    def __init__(self, sub_code: str = "", payment=None):
        super().__init__(_l("The payment provider refused this (%(reason)s).",
                            reason=sub_code or "?"), payment=payment)
        self.sub_code = sub_code


class AmountMismatch(ProviderError):
    """The provider's verified answer gives the trade another amount than the payment's."""

    def __init__(self, answer: dict, payment=None):
        super().__init__(payment=payment)
        self.answer = answer
