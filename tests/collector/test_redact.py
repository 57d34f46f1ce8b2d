"""Redaction of secrets and (opt-in) personal data from span rows, and its rule file.

Rows come from the real decoder and normalizer. Fake secrets are assembled at run time so no
scanner mistakes this file for a leak. The last test sends a secret through the real collector and
looks for it in the bytes of the DuckDB file and its WAL.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from otlp_payloads import S, Value, new_trace_id, request

from agentdeck.collector.ingest.decode import from_proto
from agentdeck.collector.ingest.normalize import normalize
from agentdeck.collector.ingest.redact import TEXT_COLUMNS, RedactionConfigError, Redactor
from agentdeck.collector.server import CollectorServer
from agentdeck.collector.store.schema import SpanRow
from agentdeck.engine.pricing import load_prices

PRICES = load_prices()
RNG = random.Random(3)
ALNUM = string.ascii_letters + string.digits


def fake(prefix: str, n: int, alphabet: str = ALNUM) -> str:
    return prefix + "".join(RNG.choice(alphabet) for _ in range(n))


ANTHROPIC = fake("sk-" + "ant-api03-", 60)
OPENAI = fake("sk-" + "proj-", 48)
AWS = fake("AK" + "IA", 16, string.ascii_uppercase + string.digits)
GITHUB = fake("gh" + "p_", 36)
BEARER = fake("eyJ", 40) + "." + fake("", 20)
PASSWORD = fake("pw", 12)
KEY_BODY = fake("MIIEv", 64, ALNUM + "+/")
PRIVATE_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----"


def row(
    attrs: Mapping[str, Value] | None = None,
    status_message: str = "",
    events: list[tuple[str, dict[str, Value]]] | None = None,
    name: str = "chat",
) -> SpanRow:
    span = S(name, new_trace_id(), attrs=dict(attrs or {}), status_message=status_message, events=events or [])
    if status_message:
        span.status_code = 2
    decoded = from_proto(request([span], resource={"deployment.token": "plain"}))
    return normalize(decoded.spans[0], PRICES, received_ns=1)


def text_of(r: SpanRow) -> str:
    return "\n".join(str(getattr(r, c)) for c in TEXT_COLUMNS)


DEFAULT = Redactor.from_config(None, include_pii=False)


@pytest.mark.parametrize(
    ("secret", "raw", "rule"),
    [
        (ANTHROPIC, ANTHROPIC, "anthropic_api_key"),
        (OPENAI, OPENAI, "openai_api_key"),
        (AWS, AWS, "aws_access_key_id"),
        (GITHUB, GITHUB, "github_token"),
        (PRIVATE_KEY, KEY_BODY, "private_key"),  # its newlines are escaped inside JSON columns
    ],
)
def test_default_rules_replace_each_secret_in_every_payload_column(secret: str, raw: str, rule: str) -> None:
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": f"use {secret} please"}]}])
    original = row(
        attrs={"gen_ai.input.messages": messages, "gen_ai.output.messages": f'"{secret}"', "tool.args": secret},
        status_message=f"call failed with key {secret}",
        events=[("exception", {"exception.message": f"bad key {secret}"})],
    )
    assert raw in (original.input_messages or "") and raw in original.attributes  # the producer's text
    redacted = DEFAULT.redact_row(original)
    assert raw not in text_of(redacted)
    marker = f"[REDACTED:{rule}]"
    for column in ("input_messages", "output_messages", "status_message", "attributes", "events"):
        assert marker in (getattr(redacted, column) or ""), column
    # JSON columns stay JSON with the same keys; everything else is untouched
    assert json.loads(redacted.attributes).keys() == json.loads(original.attributes).keys()
    assert json.loads(redacted.events)[0]["attributes"]["exception.message"] == f"bad key {marker}"
    assert redacted._replace(**{c: getattr(original, c) for c in TEXT_COLUMNS}) == original


def test_bearer_tokens_and_url_passwords_keep_the_text_around_them() -> None:
    original = row(
        attrs={
            "http.request.header.authorization": f"Bearer {BEARER}",
            "db.connection_string": f"postgresql://admin:{PASSWORD}@db.internal:5432/app",
            "note": f"curl -H 'Authorization: bearer {BEARER}' https://api.example.com",
        },
    )
    attrs = json.loads(DEFAULT.redact_row(original).attributes)
    assert attrs["http.request.header.authorization"] == "Bearer [REDACTED:bearer_token]"
    assert attrs["db.connection_string"] == "postgresql://admin:[REDACTED:url_password]@db.internal:5432/app"
    assert attrs["note"] == "curl -H 'Authorization: bearer [REDACTED:bearer_token]' https://api.example.com"


def test_a_clean_row_is_returned_as_is_and_near_misses_are_left_alone() -> None:
    near_misses = {
        "task": "task-runner-with-a-long-name-123456789",  # contains "sk-" inside a word
        "short": "sk-abc",
        "aws_like": "AKIA123",
        "url": "https://example.com/users/@me?x=1",
        "word": "the bearer of bad news",
        "key_talk": "rotate the PRIVATE KEY-----soon",  # no BEGIN line
        "email": "ops@example.com",
        "phone": "+1 415 555 0100",
    }
    original = row(attrs=near_misses)
    assert DEFAULT.redact_row(original) is original
    clean = row(attrs={"gen_ai.operation.name": "chat", "n": 3})
    assert DEFAULT.redact_row(clean) is clean


def test_personal_data_rules_are_off_by_default_and_on_when_asked() -> None:
    original = row(
        attrs={
            "user.email": "jane.doe+work@example.co.uk",
            "contact": "call +44 20 7946 0958 or (415) 555-0100 or 415.555.0100",
            "dates": "2024-01-15 and 12:30:45, version 1.2.3, id 1700000000000",
        }
    )
    assert DEFAULT.redact_row(original) is original
    pii = Redactor.from_config(None, include_pii=True)
    attrs = json.loads(pii.redact_row(original).attributes)
    assert attrs["user.email"] == "[REDACTED:email]"
    assert attrs["contact"] == "call [REDACTED:phone] or [REDACTED:phone] or [REDACTED:phone]"
    assert attrs["dates"] == "2024-01-15 and 12:30:45, version 1.2.3, id 1700000000000"


def test_a_rule_file_adds_rules_and_disables_defaults(tmp_path: Path) -> None:
    path = tmp_path / "redact.toml"
    path.write_text(
        'disable = ["url_password"]\n'
        "[[rule]]\n"
        'name = "internal_token"\n'
        'pattern = "itk_[a-z0-9]{12}"\n'
        'hints = ["itk_"]\n'
        "[[rule]]\n"
        'name = "session_cookie"\n'
        "pattern = 'session=(?P<secret>[^;\\s\"]+)'\n"
        'hints = ["SESSION="]\n'
        "ignore_case = true\n"
    )
    redactor = Redactor.from_config(path, include_pii=False)
    original = row(
        attrs={
            "a": "token itk_0123456789ab here",
            "b": "Cookie: SESSION=abc123; theme=dark",
            "c": f"postgresql://admin:{PASSWORD}@db/app",
            "d": ANTHROPIC,
        }
    )
    attrs = json.loads(redactor.redact_row(original).attributes)
    assert attrs == {
        "a": "token [REDACTED:internal_token] here",
        "b": "Cookie: SESSION=[REDACTED:session_cookie]; theme=dark",
        "c": f"postgresql://admin:{PASSWORD}@db/app",  # disabled
        "d": "[REDACTED:anthropic_api_key]",  # defaults still on
    }


def test_an_optional_secret_group_and_disabling_a_pii_rule_while_pii_is_off(tmp_path: Path) -> None:
    path = tmp_path / "redact.toml"
    path.write_text('disable = ["phone"]\n[[rule]]\nname = "pin"\npattern = \'PIN(?::(?P<secret>[0-9]+))?-[0-9]{4}\'\n')
    redactor = Redactor.from_config(path, include_pii=False)
    attrs = json.loads(redactor.redact_row(row(attrs={"a": "PIN:77-1234 and PIN-5678"})).attributes)
    assert attrs == {"a": "PIN:[REDACTED:pin]-1234 and [REDACTED:pin]"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]]\nname = 'x'\npattern = '(unclosed'\n", "rule 'x': pattern is not a valid regular expression"),
        ("[[rule]]\nname = 'Bad Name'\npattern = 'x'\n", "name must be 1-64 characters"),
        ("[[rule]]\nname = 'e'\npattern = 'a*'\n", "matches the empty string"),
        ("[[rule]]\nname = 'e'\npattern = 'a'\ncolour = 1\n", "unknown keys ['colour']"),
        ("[[rule]]\nname = 'github_token'\npattern = 'x'\n", "already exist"),
        ("disable = ['no_such_rule']\n", "disable names unknown rules ['no_such_rule']"),
        ("rules = []\n", "unknown keys ['rules']"),
        ("[[rule]\n", "is not valid TOML"),
    ],
)
def test_a_bad_rule_file_is_refused_with_a_message(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "redact.toml"
    path.write_text(text)
    with pytest.raises(RedactionConfigError, match=None) as info:
        Redactor.from_config(path, include_pii=False)
    assert message in str(info.value) and str(path) in str(info.value)


def test_a_missing_rule_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RedactionConfigError, match="cannot read redaction rules"):
        Redactor.from_config(tmp_path / "nope.toml", include_pii=False)


_SECRETS = [ANTHROPIC, OPENAI, AWS, GITHUB, PRIVATE_KEY, f"Bearer {BEARER}", f"redis://u:{PASSWORD}@h"]
_RAW = [ANTHROPIC, OPENAI, AWS, GITHUB, KEY_BODY, BEARER, PASSWORD]


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=10),
        st.lists(st.text(max_size=12) | st.sampled_from([*_SECRETS, '"', "\\", "\\n", "://", "@"]), max_size=8).map(
            " ".join  # the OpenAI rule wants a non-letter before "sk-" (so "task-..." is not a key)
        ),
        max_size=5,
    )
)
def test_redacted_json_stays_json_and_holds_no_secret(attrs: dict[str, str]) -> None:
    redacted = DEFAULT.redact_row(row(attrs=dict(attrs)))
    kept = json.loads(redacted.attributes)
    assert kept.keys() == attrs.keys()
    for value in kept.values():
        for raw in _RAW:
            assert raw not in value


CARDS = ["4111 1111 1111 1111", "5500-0055-5555-5559", "378282246310005", "6011111111111117", "4012888888881881"]


@pytest.mark.parametrize("card", CARDS)
def test_a_card_number_in_message_content_is_redacted_by_default(card: str) -> None:
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": f"charge {card}, thanks"}]}])
    redacted = DEFAULT.redact_row(row({"gen_ai.input.messages": messages}, status_message=f"declined: {card}"))
    digits = card.replace(" ", "").replace("-", "")
    for column in TEXT_COLUMNS:
        value = getattr(redacted, column) or ""
        assert card not in value and digits not in value, column
    assert "charge [REDACTED:payment_card], thanks" in (redacted.input_messages or "")
    assert redacted.status_message == "declined: [REDACTED:payment_card]"
    json.loads(redacted.attributes)


@pytest.mark.parametrize(
    "text",
    [
        "started at 1733400000000000000 ns",  # a nanosecond epoch
        "epoch ms 1733400000000",
        "order 4111111111111112",  # a Visa prefix, but the Luhn check fails
        "ratio 0.4111111111111111",
        "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
        "run 41111111111111111111",  # 20 digits: longer than any card
        "id 9111111111111111",  # no issuer starts with 9
    ],
)
def test_ids_timestamps_and_near_misses_are_not_cards(text: str) -> None:
    assert DEFAULT.redact_text(text) == text


def test_a_card_number_as_a_bare_json_number_keeps_the_json_valid() -> None:
    original = row({"shop.order_number": 4111111111111111, "note": "card 4111111111111111"})
    redacted = DEFAULT.redact_row(original)
    attrs = json.loads(redacted.attributes)
    assert attrs["note"] == "card [REDACTED:payment_card]"
    assert attrs["shop.order_number"] == 4111111111111111  # a number, not message content


def test_the_card_rule_can_be_disabled(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text('disable = ["payment_card"]\n')
    assert Redactor.from_config(rules, include_pii=False).redact_text("4111111111111111") == "4111111111111111"


# --- through the real collector --------------------------------------------------------------


def _file_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + ".wal")) if p.exists())


def test_a_secret_sent_to_the_collector_never_reaches_the_duckdb_file(
    start_collector: Callable[..., CollectorServer], db_path: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "redact.toml"
    rules.write_text('[[rule]]\nname = "ticket"\npattern = "TCK-[0-9]{6}"\nhints = ["TCK-"]\n')
    server = start_collector(flush_interval_ms=1, redact_pii=True, redact_rules_path=str(rules))
    canary = fake("canary-", 40)  # not a secret: proves the search can see stored text
    email = fake("jane", 8, string.ascii_lowercase) + "@example.org"
    t = new_trace_id()
    spans = [
        S("llm", t, attrs={"gen_ai.input.messages": f"key={ANTHROPIC} mail {email}", "control": canary}),
        S("pay", t, attrs={"gen_ai.output.messages": "paid with 5500 0055 5555 5559 and 4012888888881881"}),
        S("http", t, attrs={"url.full": f"https://bot:{PASSWORD}@api.example.com"}, status_message=f"Bearer {BEARER}"),
        S("tool", t, attrs={"ticket": "TCK-123456"}, events=[("log", {"line": f"aws {AWS} gh {GITHUB}"})]),
    ]
    body = request(spans).SerializeToString()
    r = httpx.post(server.url + "/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 200
    answer = httpx.get(server.url + "/api/query/trace", params={"trace_id": t}).json()
    shown = json.dumps(answer)
    markers = ["anthropic_api_key", "email", "url_password", "bearer_token", "ticket", "aws_access_key_id"]
    for marker in [*markers, "payment_card"]:
        assert f"[REDACTED:{marker}]" in shown, marker
    while_running = _file_bytes(db_path)  # the WAL holds the committed rows as written
    server.stop()
    after_stop = _file_bytes(db_path)  # checkpointed into the main file
    assert canary.encode() in while_running or canary.encode() in after_stop, "stored text is not visible as bytes"
    cards = ("5500 0055 5555 5559", "4012888888881881")
    for raw in (ANTHROPIC, PASSWORD, BEARER, email, "TCK-123456", AWS, GITHUB, *cards):
        assert raw.encode() not in while_running, raw
        assert raw.encode() not in after_stop, raw
