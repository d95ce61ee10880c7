"""How hard a new password is to guess, estimated offline by zxcvbn (Dropbox's estimator, its
Python port): it knows the most common passwords of public breaches, words, names, keyboard
walks, dates, repeats and sequences, and the words of the account and the city themselves.
Its lists are English; COMMON_IN_CHINA adds the stems of the passwords most often leaked in
China (pinyin endearments, lucky numbers), which it then treats as words. Nothing leaves the
server. A password it rates below MIN_SCORE (3 of 4: about 10^8 guesses) is refused."""
from zxcvbn import zxcvbn

MIN_SCORE = 3
COMMON_IN_CHINA = (
    "woaini", "woaini1314", "5201314", "1314", "520", "1314520", "aini", "iloveyou", "wodemima",
    "mima", "zhongguo", "beijing", "shanghai", "baobei", "laopo", "laogong", "qq", "wangwang",
    "xiaoming", "zhangwei", "wangwei", "liwei", "88888888", "666666", "168168", "147258369",
    "123qwe", "1qaz2wsx", "qwe123", "abc123", "a123456", "woshishui", "nihao")
# zxcvbn's matching grows with the length; past this the rest adds only strength.
CHECKED_LENGTH = 64


def too_guessable(password: str, related: list[str]) -> bool:
    """Whether `password` is common or follows a pattern a guesser tries early; `related`:
    words of the account and its site (address, name, city) that it should not lean on."""
    words = [word for text in related if text
             for word in (str(text), *str(text).replace("@", " ").replace(".", " ").split())]
    return zxcvbn(password[:CHECKED_LENGTH],
                  user_inputs=[*words, *COMMON_IN_CHINA])["score"] < MIN_SCORE
