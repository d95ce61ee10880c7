"""How hard a new password is to guess, estimated offline by zxcvbn (Dropbox's estimator, its
Python port): it knows the most common passwords of public breaches, words, names, keyboard
walks, dates, repeats and sequences, and the words of the account and the city themselves.
Nothing leaves the server. A password it rates below MIN_SCORE (3 of 4: about 10^8 guesses) is
refused."""
from zxcvbn import zxcvbn

MIN_SCORE = 3
# zxcvbn's matching grows with the length; past this the rest adds only strength.
CHECKED_LENGTH = 64


def too_guessable(password: str, related: list[str]) -> bool:
    """Whether `password` is common or follows a pattern a guesser tries early; `related`:
    words of the account and its site (address, name, city) that it should not lean on."""
    words = [word for text in related if text for word in str(text).replace("@", " ").split()]
    return zxcvbn(password[:CHECKED_LENGTH], user_inputs=words)["score"] < MIN_SCORE
