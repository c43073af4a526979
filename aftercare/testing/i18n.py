"""No English left on a Chinese page: the words a page shows that are English (the tests of each app's Chinese pages
render them in zh-Hans and expect none but the language switcher's and the product's name)."""

import re

ALWAYS_ALLOWED = frozenset({"English", "aftercare"})  # the language switcher, the product's name


def visible_text(html: str) -> str:
    """The page's text: no script, style, comment, `<code>` (typed variables such as {date}) or tag."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>|<!--.*?-->|<code>[^<]*</code>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def english_words(html: str, allowed=frozenset()) -> set[str]:
    """The English words (three letters or more) of the page's text, but `allowed` and the product's name."""
    return set(re.findall(r"\b[A-Za-z][a-z]{2,}\b", visible_text(html))) - ALWAYS_ALLOWED - set(allowed)
