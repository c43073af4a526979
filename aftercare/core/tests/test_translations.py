"""Every string a user sees is translated (zh-Hans is the site's language) and English counts agree with their nouns.

* the catalogue (`aftercare/locale/zh_Hans/LC_MESSAGES/django.po`): no entry untranslated or fuzzy, every msgstr
  keeps its msgid's placeholders, and every string the Python code marks is in it (so `makemessages` was run and
  the code marks strings only with names `makemessages` extracts: `_`, `gettext`, `gettext_lazy`, … — an alias
  such as `_lazy` is silently left out of the catalogue and shows in English);
* the source: templates show no text outside `{% translate %}` / `{% blocktranslate %}`, and Python passes no plain
  string literal as a flash message, a label, a help text, a verbose name, a choice label or a validation error;
* the pages: the main pages of every app, rendered from the demo for several roles in zh-Hans, show no English word
  but codes (SSI, VIN, KPI …), literal column names and identifiers (in `<code>` or `.font-monospace`);
* plurals: no msgid says "%(n)s calls" without `ngettext` / `{% blocktranslate count %}`, and the English pages never
  say "1 calls".
"""

import ast
import datetime as dt
import io
import re
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.template.base import Lexer, TokenType
from django.test import Client

ROOT = Path(__file__).resolve().parents[3]  # the repository
APP_DIR = ROOT / "aftercare"
PO = APP_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"

# ---- the catalogue ------------------------------------------------------------------------------------------------


def _unquote(lines: list[str]) -> str:
    return "".join(ast.literal_eval(line) for line in lines)


def po_entries(path: Path = PO) -> list[dict]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (a list: one, or one per plural form),
    flags, the first reference line; obsolete (`#~`) entries are left out."""
    entries, current, key = [], None, None

    def finish():
        if current is not None and ("msgid" in current):
            current["msgid"] = _unquote(current["msgid"])
            current["msgctxt"] = _unquote(current["msgctxt"]) if "msgctxt" in current else None
            current["msgid_plural"] = _unquote(current["msgid_plural"]) if "msgid_plural" in current else None
            forms = sorted(k for k in current if k.startswith("msgstr"))
            current["msgstr"] = [_unquote(current.pop(k)) for k in forms]
            entries.append(current)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            current, key = None, None
            continue
        if line.startswith("#~"):
            continue
        if current is None:
            current = {"flags": set(), "ref": ""}
        if line.startswith("#,"):
            current["flags"] |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#:"):
            current["ref"] = current["ref"] or line[2:].strip()
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[key].append(line)
        else:
            word, _sep, rest = line.partition(" ")
            key = word.replace("[", "_").replace("]", "")  # msgstr[0] → msgstr_0
            current[key] = [rest]
    finish()
    return [e for e in entries if e["msgid"]]  # the header


PERCENT = re.compile(r"%\((\w+)\)[sdif]|%[sdif]")
BRACE = re.compile(r"\{(\w*)\}")


def _placeholders(text: str, brace: bool) -> list[str]:
    found = sorted(m.group(0) for m in PERCENT.finditer(text.replace("%%", "")))
    if brace:
        found += sorted(m.group(0) for m in BRACE.finditer(text))
    return found


def test_it_has_no_untranslated_or_fuzzy_message_in_zh_hans():
    entries = po_entries()
    assert len(entries) > 1000
    untranslated = [f"{e['ref']}: {e['msgid']!r}" for e in entries if not all(s.strip() for s in e["msgstr"])]
    fuzzy = [f"{e['ref']}: {e['msgid']!r}" for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, "untranslated in zh_Hans (fill the msgstr):\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy in zh_Hans (check the msgstr, drop the flag):\n" + "\n".join(fuzzy)


def test_it_keeps_every_placeholder_of_the_msgid_in_the_msgstr():
    wrong = []
    for e in po_entries():
        if "python-format" not in e["flags"] and "python-brace-format" not in e["flags"]:
            continue
        brace = "python-brace-format" in e["flags"]
        sources = [e["msgid"]] + ([e["msgid_plural"]] if e["msgid_plural"] else [])
        wanted = {tuple(_placeholders(s, brace)) for s in sources}
        for msgstr in e["msgstr"]:
            got = tuple(_placeholders(msgstr, brace))
            # a plural form may leave out the count (一个 … for "1 call"): its other placeholders must be there
            if got not in wanted and not any(set(got) <= set(w) and len(e["msgstr"]) > 1 for w in wanted):
                wrong.append(f"{e['ref']}: {e['msgid']!r} → {msgstr!r}")
    assert not wrong, "placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


# ---- Python sources -----------------------------------------------------------------------------------------------

# the names `makemessages` extracts (django/core/management/commands/makemessages.py, xgettext's defaults)
EXTRACTED = {
    "_": 0,
    "gettext": 0,
    "gettext_lazy": 0,
    "gettext_noop": 0,
    "ngettext": 0,
    "ngettext_lazy": 0,
    "pgettext": 1,
    "pgettext_lazy": 1,
    "npgettext": 1,
    "npgettext_lazy": 1,
}
TRANSLATION_FUNCTIONS = set(EXTRACTED) - {"_"}


def python_files():
    for path in sorted(APP_DIR.rglob("*.py")):
        parts = path.relative_to(APP_DIR).parts
        if "tests" in parts or "migrations" in parts or parts[0] in ("testing", "demo"):
            continue
        yield path


def _trees():
    for path in python_files():
        yield path.relative_to(ROOT), ast.parse(path.read_text(encoding="utf-8"))


def _str(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def test_it_marks_strings_only_with_names_makemessages_extracts():
    aliased = []
    for rel, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                for name in node.names:
                    if name.name in TRANSLATION_FUNCTIONS and (name.asname or name.name) not in EXTRACTED:
                        aliased.append(f"{rel}:{node.lineno}: {name.name} as {name.asname}")
    assert not aliased, "makemessages does not extract these names (use _ or the function's own name):\n" + "\n".join(
        aliased
    )


def test_it_has_every_marked_python_string_in_the_catalogue():
    known = {(e["msgctxt"], e["msgid"]) for e in po_entries()}
    missing = []
    for rel, tree in _trees():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in EXTRACTED):
                continue
            index = EXTRACTED[node.func.id]
            if len(node.args) <= index:
                continue
            msgid = _str(node.args[index])
            context = _str(node.args[0]) if index else None
            if msgid and (context, msgid) not in known:
                missing.append(f"{rel}:{node.lineno}: {msgid!r}")
    assert not missing, "not in the zh_Hans catalogue (run makemessages, fill the msgstr):\n" + "\n".join(missing)


MESSAGE_CALLS = {"success": 1, "info": 1, "warning": 1, "error": 1, "debug": 1, "add_message": 2}
RELATIONS = {"ForeignKey", "OneToOneField", "ManyToManyField"}  # their first argument is the related model
LABEL_KEYWORDS = {"verbose_name", "verbose_name_plural", "help_text", "label", "empty_label"}


def _plain_text(node) -> bool:
    """A literal a user would read: a str with letters, or an f-string with letters of its own."""
    if isinstance(node, ast.JoinedStr):
        return any(_plain_text(part) for part in node.values)
    text = _str(node)
    return text is not None and re.search(r"[A-Za-z]{2}", text) is not None


def _unmarked(tree) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            if owner == "messages" and name in MESSAGE_CALLS and len(node.args) > MESSAGE_CALLS[name]:
                if _plain_text(node.args[MESSAGE_CALLS[name]]):
                    out.append((node.lineno, f"messages.{name}(…) with a plain string"))
            if (
                owner in ("models", "forms")
                and name.endswith("Field")
                and name not in RELATIONS
                and node.args
                and _plain_text(node.args[0])
            ):
                out.append((node.lineno, f"{owner}.{name}({_str(node.args[0])!r}) verbose name not marked"))
            if name == "ValidationError" and node.args and _plain_text(node.args[0]):
                out.append((node.lineno, "ValidationError with a plain string"))
            for keyword in node.keywords:
                if keyword.arg in LABEL_KEYWORDS and _plain_text(keyword.value):
                    out.append((node.lineno, f"{keyword.arg}={_str(keyword.value)!r} not marked"))
        if isinstance(node, ast.ClassDef) and any(
            getattr(b, "id", getattr(b, "attr", "")) in ("TextChoices", "IntegerChoices", "Choices") for b in node.bases
        ):
            for item in node.body:
                if isinstance(item, ast.Assign) and isinstance(item.value, ast.Tuple) and item.value.elts:
                    if _plain_text(item.value.elts[-1]):
                        out.append((item.lineno, f"choice label {_str(item.value.elts[-1])!r} not marked"))
    return out


def test_it_passes_no_plain_string_to_a_user_as_message_label_choice_or_error():
    found = [f"{rel}:{line}: {what}" for rel, tree in _trees() for line, what in _unmarked(tree)]
    assert not found, "mark these with gettext / gettext_lazy:\n" + "\n".join(found)


def test_the_source_check_finds_an_unmarked_flash_message_label_and_choice():
    tree = ast.parse(
        "messages.success(request, 'Form archived.')\n"
        "messages.info(request, f'Import {n} done')\n"
        "messages.info(request, f'{a} / {b}')\n"
        "name = models.CharField('name', max_length=9)\n"
        "x = forms.CharField(label='Name')\n"
        "class K(models.TextChoices):\n    A = 'a', 'Apple'\n    B = 'b', _('Banana')\n"
        "messages.success(request, _('Form archived.'))\n"
    )
    assert sorted(line for line, _what in _unmarked(tree)) == [1, 2, 4, 5, 7]


# ---- templates ----------------------------------------------------------------------------------------------------

# words a page may show untranslated: the product, the language switcher, file formats and channel names
ALLOWED_WORDS = {
    "aftercare",
    "English",
    "WeChat",
    "Excel",
    "Bootstrap",
    "HTMX",
    "Healthchecks",
    "km",
    "px",
    "ms",
}
VISIBLE_ATTRIBUTES = re.compile(r"""\b(?:title|placeholder|aria-label|alt)\s*=\s*("[^"]*"|'[^']*')""")
HIDDEN_BLOCKS = re.compile(
    r"<(script|style|code|pre|kbd|samp)\b.*?</\1>|<!--.*?-->"
    r"|<(\w+)\b[^>]*\bclass=\"[^\"]*\bfont-monospace\b[^\"]*\"[^>]*>.*?</\2>",
    re.S | re.I,
)
ENGLISH_WORD = re.compile(r"[A-Za-z]+(?:[_'’-][A-Za-z]+)*")


def english_words(text: str) -> set[str]:
    """The English words of an HTML text (tags, scripts, code and monospace elements left out): a word is two
    letters or more, not all capitals (SSI, VIN, KPI, XLSX are codes), not in `ALLOWED_WORDS`, not part of a path or
    a file name (docs/kpis.md)."""
    attributes = " ".join(m.group(1)[1:-1] for m in VISIBLE_ATTRIBUTES.finditer(text))
    body = HIDDEN_BLOCKS.sub(" ", text)
    body = re.sub(r"<[^>]*>", " ", body) + " " + attributes
    body = re.sub(r"&#?\w+;", " ", body)  # entities
    body = re.sub(r"\S*[/.]\S*\.(?:md|html|py|xlsx|csv|pdf)\b|\bhttps?://\S+|\S+@\S+", " ", body)
    words = set()
    for word in ENGLISH_WORD.findall(body):
        if len(word) < 2 or word.isupper() or word in ALLOWED_WORDS:
            continue
        if re.fullmatch(r"[A-Z]+[a-z]?s?", word):  # SSIs, PDFs
            continue
        words.add(word)
    return words


def template_files():
    yield from sorted(APP_DIR.rglob("templates/**/*.html"))


TRANSLATING_BLOCKS = {
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
    "comment": "endcomment",
    "verbatim": "endverbatim",
}
# template-only text that is no prose: e-mail and SMS bodies of other apps are rendered in the recipient's language
TEMPLATE_EXEMPT = {"admin"}


def template_skeleton(source: str) -> str:
    """The template's literal text: variables and tags replaced by a mark, translated blocks and comments dropped."""
    out, closing = [], None
    for token in Lexer(source).tokenize():
        if closing:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
            continue
        if token.token_type == TokenType.TEXT:
            out.append(token.contents)
        elif token.token_type == TokenType.BLOCK:
            word = token.contents.split()[0] if token.contents.split() else ""
            if word in TRANSLATING_BLOCKS:
                closing = TRANSLATING_BLOCKS[word]
            out.append("\x00")
        elif token.token_type == TokenType.VAR:
            out.append("\x00")
    return "".join(out)


def test_it_shows_no_template_text_outside_translate_tags():
    found = {}
    for path in template_files():
        rel = path.relative_to(ROOT)
        if set(rel.parts) & TEMPLATE_EXEMPT:
            continue
        if words := english_words(template_skeleton(path.read_text(encoding="utf-8"))):
            found[str(rel)] = sorted(words)
    assert not found, "wrap in {% translate %} / {% blocktranslate %}: " + repr(found)


def test_the_template_check_finds_text_and_attributes_outside_translate_tags():
    source = (
        '{% load i18n %}<h1 title="Hello there">{% translate "Calls" %} Due today</h1>'
        "{% blocktranslate count n=n %}{{ n }} call{% plural %}{{ n }} calls{% endblocktranslate %}"
        '<td class="small font-monospace">{{ r.code }} SSI_NEW</td><code>customer_name</code>'
        "<script>let a = 1;</script>"
        "{{ n }} SSI · XLSX"
    )
    assert english_words(template_skeleton(source)) == {"Hello", "there", "Due", "today"}


# ---- plurals ------------------------------------------------------------------------------------------------------

COUNT_WITH_NOUN = re.compile(r"(?:%\((\w+)\)[sd]|\{(\w+)\}|\{\{ ?(\w+) ?\}\}) ([a-z]+(?:[- ][a-z]+)?s)\b")
# placeholders that are no count (a store's code, a name, a date) may stand before a plural noun
NOT_COUNTS = {
    "cell",
    "vehicle",
    "owner",
    "store",
    "name",
    "kind",
    "month",
    "date",
    "day",
    "year",
    "rule",
    "code",
    "who",
    "what",
    "label",
    "measure",
    "department",
    "customer",
    "channel",
    "when",
    "category",
    "plate",
    "region",
    "list",
    "title",
}
NOT_NOUNS = {
    "is",
    "was",
    "has",
    "this",
    "its",
    "as",
    "us",
    "plus",
    "yes",
    "status",
    "class",
    "less",
    "process",
    "address",
    "access",
    "success",
    "progress",
    "bonus",
    "gas",
    "business",
    "miss",
    "across",
    "does",
}


# a limit ("more than %(n)s rows", "at most %(n)s characters") is never one
LIMIT = re.compile(r"(?:than|at most|at least|first|latest|last) $", re.I)


def plural_mistakes(entries) -> list[str]:
    out = []
    for e in entries:
        if e["msgid_plural"]:
            continue
        for match in COUNT_WITH_NOUN.finditer(e["msgid"]):
            name = next(g for g in match.groups()[:3] if g is not None)
            noun = match.group(4).split()[-1].split("-")[-1]
            if name.lower() in NOT_COUNTS or noun in NOT_NOUNS or LIMIT.search(e["msgid"][: match.start()]):
                continue
            out.append(f"{e['ref']}: {e['msgid']!r}")
    return out


def test_it_counts_with_ngettext_where_a_count_stands_before_a_plural_noun():
    mistakes = plural_mistakes(po_entries())
    assert not mistakes, "use ngettext / {% blocktranslate count %}:\n" + "\n".join(mistakes)


def test_the_plural_check_finds_a_count_before_a_plural_noun():
    entries = [
        {"msgid": "%(n)s calls due", "msgid_plural": None, "ref": "a"},
        {"msgid": "{count} open tasks", "msgid_plural": None, "ref": "b"},
        {"msgid": "%(n)s call", "msgid_plural": "%(n)s calls", "ref": "c"},
        {"msgid": "%(store)s orders", "msgid_plural": None, "ref": "d"},
        {"msgid": "The file has more than %(n)s rows.", "msgid_plural": None, "ref": "e"},
    ]
    assert plural_mistakes(entries) == ["a: '%(n)s calls due'", "b: '{count} open tasks'"]


ONE_PLURAL = re.compile(r"(?<![\d.,:/-])\b1 ([a-z]+s)\b")


def one_plural(text: str) -> set[str]:
    return {m.group(0) for m in ONE_PLURAL.finditer(text) if m.group(1) not in NOT_NOUNS}


def test_the_english_check_finds_one_before_a_plural_noun():
    assert one_plural("1 calls · 11 calls · 1 call · 2026-1 days · 1 is due · 1.1 months") == {"1 calls"}


# ---- the pages ----------------------------------------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 18, 7, 30, tzinfo=dt.UTC)
# the roles whose pages are read in Chinese, and those read again in English for "1 calls"
ROLES_ZH = ("admin", "gz_csm", "gz_cs", "gz_mech", "gz_manager", "gz_renewal")
ROLES_EN = ("admin", "gz_cs")
PAGES = (
    "/today/",
    "/followups/",
    "/followups/manage/",
    "/followups/rules/",
    "/followups/calls/",
    "/followups/letters/",
    "/complaints/",
    "/complaints/inbox/",
    "/complaints/board/",
    "/complaints/measures/",
    "/complaints/settings/",
    "/imports/",
    "/renewals/",
    "/renewals/?due=all",
    "/renewals/measures/",
    "/renewals/settings/",
    "/appointments/",
    "/appointments/board/",
    "/appointments/list/",
    "/appointments/measures/",
    "/appointments/settings/",
    "/care/classes/",
    "/care/reminders/",
    "/care/campaigns/",
    "/care/recalls/",
    "/care/messages/",
    "/care/templates/",
    "/care/churn/",
    "/care/winback/",
    "/kpis/",
    "/customers/",
    "/customers/quality/",
    "/inbox/",
)


@pytest.fixture
def demo(db):
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=io.StringIO(), customers=120)


def _detail_pages() -> list[str]:
    from aftercare.complaints.models import Feedback
    from aftercare.customers.models import Customer
    from aftercare.followups.models import FollowupTask

    pages = [f"/complaints/{pk}/" for pk in Feedback.objects.order_by("pk").values_list("pk", flat=True)[:3]]
    pages += [f"/followups/tasks/{pk}/" for pk in FollowupTask.objects.order_by("pk").values_list("pk", flat=True)[:2]]
    customer = Customer.objects.filter(store__code="GZ01").order_by("pk").first()
    pages += [f"/customers/{customer.pk}/"]
    return pages


@pytest.mark.slow
def test_the_main_pages_speak_chinese_to_every_role_and_english_counts_agree(demo):
    users = {u.username: u for u in get_user_model().objects.filter(username__in=ROLES_ZH + ROLES_EN)}
    pages = [*PAGES, *_detail_pages()]
    english, plurals, shown = {}, {}, 0
    with time_machine.travel(NOW, tick=False):
        for language, roles in (("zh-hans", ROLES_ZH), ("en", ROLES_EN)):
            for username in roles:
                client = Client(HTTP_ACCEPT_LANGUAGE=language)
                client.force_login(users[username])
                for url in pages:
                    response = client.get(url)
                    assert response.status_code in (200, 403, 404), (username, url, response.status_code)
                    if response.status_code != 200:
                        continue
                    shown += 1
                    html = response.content.decode()
                    if language == "zh-hans" and (words := english_words(html)):
                        english.setdefault(url, set()).update(words)
                    if language == "en" and (found := one_plural(re.sub(r"<[^>]+>", " ", html))):
                        plurals.setdefault(url, set()).update(found)
    assert shown > 100
    assert not english, {url: sorted(words) for url, words in english.items()}
    assert not plurals, {url: sorted(words) for url, words in plurals.items()}
