"""The city's privacy notice: a standard text filled with the city's details (version 1) until
its administrators publish their own; each publication is a new, numbered version kept for
good, and an account records the version its citizen accepted at registration."""


class PrivacyError(ValueError):
    """A notice that can't be published; the message says why."""
