"""The dashboard login (dashboard/auth.py) through a real Streamlit script run by AppTest.

The app under test is tests/dashboard/login_app.py: it calls `require_login()`, then shows content
and a replay button gated by `can_edit()`. The bind address is Streamlit's own `server.address`
option, set here as `streamlit run --server.address` would.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from agentdeck.dashboard.auth import (
    HASH_ENV,
    LOCAL_CLIENT,
    LOCKOUT_S,
    MAX_FAILURES,
    PASSWORD_ENV,
    PASSWORD_KEY,
    SIGN_OUT_KEY,
    THROTTLE,
    AuthConfigError,
    AuthSettings,
    Throttle,
    client_key,
    hash_password,
    is_loopback,
    parse_hash,
)

REPO = Path(__file__).resolve().parents[2]
APP = str(Path(__file__).with_name("login_app.py"))
CONTENT = "private dashboard content"
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.delenv(HASH_ENV, raising=False)
    before = config.get_option("server.address")
    THROTTLE.reset()
    yield
    config.set_option("server.address", before)
    THROTTLE.reset()


def run(address: str | None) -> AppTest:
    config.set_option("server.address", address)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in [*at.markdown, *at.caption, *at.error, *at.title])


def sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key=PASSWORD_KEY).input(password)
    at.button(key="agentdeck_login_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_loopback_without_a_password_is_open_and_editable() -> None:
    at = run("127.0.0.1")
    assert CONTENT in shown(at)
    assert "may edit before the gate: True" in shown(at)
    assert at.button(key="replay")


def test_a_configured_password_is_asked_once_per_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    at = run("127.0.0.1")
    assert CONTENT not in shown(at) and "may edit before the gate: False" in shown(at)
    assert not [b for b in at.button if b.key == "replay"]

    sign_in(at, "wrong")
    assert "Wrong password." in shown(at) and CONTENT not in shown(at)

    sign_in(at, PASSWORD)
    assert CONTENT in shown(at) and "may edit before the gate: True" in shown(at)
    assert at.button(key="replay")
    at.run()  # a later rerun of the same session stays signed in
    assert CONTENT in shown(at)

    at.button(key=SIGN_OUT_KEY).click().run()
    assert CONTENT not in shown(at) and at.text_input(key=PASSWORD_KEY)


@pytest.mark.parametrize("scheme", ["scrypt", "pbkdf2_sha256"])
def test_a_hashed_password_works_and_the_hash_is_not_the_password(monkeypatch: pytest.MonkeyPatch, scheme: str) -> None:
    value = hash_password(PASSWORD, scheme)
    assert PASSWORD not in value and value.startswith(scheme + "$")
    monkeypatch.setenv(HASH_ENV, value)
    at = run("127.0.0.1")
    sign_in(at, value)  # the hash itself is not a password
    assert CONTENT not in shown(at)
    sign_in(at, PASSWORD)
    assert CONTENT in shown(at)


@pytest.mark.parametrize("address", [None, "0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_beyond_loopback_without_a_password_nothing_is_shown(address: str | None) -> None:
    at = run(address)
    text = shown(at)
    assert CONTENT not in text and "no password is set" in text and PASSWORD_ENV in text
    assert "may edit before the gate: False" in text


def test_beyond_loopback_with_a_password_asks_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    at = run("0.0.0.0")
    assert CONTENT not in shown(at)
    sign_in(at, PASSWORD)
    assert CONTENT in shown(at)


def test_repeated_wrong_passwords_pause_sign_in_even_for_the_right_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    at = run("127.0.0.1")
    for _ in range(MAX_FAILURES):
        sign_in(at, "guess")
    fresh = run("127.0.0.1")  # a new session does not start over
    sign_in(fresh, PASSWORD)
    assert "sign-in is paused" in shown(fresh) and CONTENT not in shown(fresh)
    THROTTLE.reset()
    sign_in(fresh, PASSWORD)
    assert CONTENT in shown(fresh)


class ManualClock:
    """A clock the test moves by hand (the throttle's `clock` parameter)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_pause_is_per_client_and_ends() -> None:
    clock = ManualClock()
    throttle = Throttle(clock=clock)
    attacker, other = client_key("203.0.113.5"), client_key("198.51.100.7")
    for _ in range(MAX_FAILURES - 1):
        throttle.failed(attacker)
    assert throttle.wait_s(attacker) == 0  # not yet
    throttle.failed(other)  # someone else's typo does not count against the attacker, nor the reverse
    throttle.failed(attacker)
    assert throttle.wait_s(attacker) == LOCKOUT_S
    assert throttle.wait_s(other) == 0 and throttle.wait_s(LOCAL_CLIENT) == 0
    clock.now += LOCKOUT_S - 1
    assert throttle.wait_s(attacker) == 1
    clock.now += 1
    assert throttle.wait_s(attacker) == 0
    for _ in range(MAX_FAILURES - 1):
        throttle.failed(other)
    throttle.succeeded(other)  # a right password starts the count over
    throttle.failed(other)
    assert throttle.wait_s(other) == 0


def test_the_throttle_remembers_a_bounded_number_of_clients() -> None:
    throttle = Throttle(max_clients=100, clock=ManualClock())
    for i in range(5_000):  # an attacker with many addresses
        throttle.failed(f"10.0.{i // 256}.{i % 256}")
    assert throttle.tracked() == 100
    last = "10.0.19.135"  # the 5,000th: still remembered, and paused after more failures
    for _ in range(MAX_FAILURES - 1):
        throttle.failed(last)
    assert throttle.wait_s(last) > 0
    assert throttle.wait_s("10.0.0.0") == 0  # the oldest were forgotten
    throttle.reset()
    assert throttle.tracked() == 0 and throttle.wait_s(last) == 0


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        (None, LOCAL_CLIENT),
        ("", LOCAL_CLIENT),
        (object(), LOCAL_CLIENT),  # not a string (as under AppTest): treated as local, never a key per call
        ("203.0.113.5", "203.0.113.5"),
        ("127.0.0.2", "127.0.0.2"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # same /64: the same client
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("[2001:db8::1]", "2001:db8::/64"),
    ],
)
def test_client_keys(ip: object, key: str) -> None:
    assert client_key(ip) == key


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({HASH_ENV: "md5$abc"}, "must look like scrypt$n$r$p$salt$hash"),
        ({HASH_ENV: "scrypt$3$8$1$c2FsdA==$" + "A" * 44}, "scrypt parameters out of range"),
        ({HASH_ENV: "pbkdf2_sha256$600000$not base64!$xx"}, "does not parse"),
        ({HASH_ENV: "pbkdf2_sha256$600000$c2FsdA==$c2hvcnQ="}, "shorter than 16 bytes"),
        ({HASH_ENV: "scrypt$16384$8$1$c2FsdA==$" + "A" * 44, PASSWORD_ENV: "x"}, "set only one of"),
    ],
)
def test_an_unusable_password_setting_fails_closed_with_a_message(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(AuthConfigError, match=None) as info:
        AuthSettings.from_env()
    assert message in str(info.value)
    at = run("127.0.0.1")
    assert message in shown(at) and CONTENT not in shown(at)


def test_hash_command_prints_a_value_that_checks_the_password() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentdeck.dashboard.auth", "hash"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    check = parse_hash(result.stdout.strip())
    assert check.matches(PASSWORD) and not check.matches(PASSWORD + " ")
    bad = subprocess.run(
        [sys.executable, "-m", "agentdeck.dashboard.auth", "hash"], input="\n", capture_output=True, text=True, cwd=REPO
    )
    assert bad.returncode == 2 and "empty" in bad.stderr


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        (None, False),
        ("", False),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("my-host", False),
    ],
)
def test_loopback_addresses(address: str | None, loopback: bool) -> None:
    assert is_loopback(address) is loopback


@pytest.fixture
def login_server(tmp_path: Path) -> Iterator[str]:
    """The login app under the real Streamlit server, on loopback, with a password set."""
    from tests.conftest import streamlit_server

    with streamlit_server({PASSWORD_ENV: PASSWORD, HASH_ENV: None}, tmp_path / "streamlit.log", Path(APP)) as url:
        yield url


@pytest.mark.browser
@pytest.mark.slow
def test_sign_in_in_a_real_browser(browser: Any, login_server: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    try:
        page.goto(login_server)
        field = page.get_by_label("Password", exact=True)
        expect(field).to_have_attribute("type", "password")  # masked
        expect(page.get_by_text(CONTENT)).to_have_count(0)
        page.screenshot(path=str(artifacts_dir / "auth-sign-in.png"), full_page=True)
        field.fill("wrong")
        field.press("Enter")  # the form submits on Enter
        expect(page.get_by_text("Wrong password.")).to_be_visible()
        field.fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text(CONTENT)).to_be_visible()
        expect(page.get_by_role("button", name="Replay from this checkpoint")).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "auth-signed-in.png"), full_page=True)
        page.reload()  # a new page load is a new session: asked again
        expect(page.get_by_label("Password", exact=True)).to_be_visible()
        expect(page.get_by_text(CONTENT)).to_have_count(0)
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_one_address_locked_out_does_not_lock_out_others_in_a_real_browser(browser: Any, login_server: str) -> None:
    """Behind a reverse proxy on this machine (uvicorn trusts X-Forwarded-For from 127.0.0.1 only),
    Streamlit sees each browser's own address: the pause applies to the address that guessed."""
    from playwright.sync_api import expect

    def open_as(ip: str | None) -> Any:
        context = browser.new_context(extra_http_headers={"X-Forwarded-For": ip} if ip else {})
        page = context.new_page()
        page.goto(login_server)
        return context, page

    def submit(page: Any, password: str) -> None:
        field = page.get_by_label("Password", exact=True)
        field.fill(password)
        field.press("Enter")
        expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()  # the run it started is over

    attacker, page = open_as("203.0.113.5")
    try:
        paused = page.get_by_text("sign-in is paused")
        for _ in range(3 * MAX_FAILURES):  # reruns may overlap: guess until the pause shows
            submit(page, "guess")
            if paused.count():
                break
        expect(paused).to_be_visible()
        again = attacker.new_page()  # a new session from the same address is still paused
        again.goto(login_server)
        submit(again, PASSWORD)
        expect(again.get_by_text("sign-in is paused")).to_be_visible()
        expect(again.get_by_text(CONTENT)).to_have_count(0)
    finally:
        attacker.close()
    for ip in ("198.51.100.7", None):  # another address, and a browser on this machine, sign in at once
        other, page = open_as(ip)
        try:
            submit(page, PASSWORD)
            expect(page.get_by_text(CONTENT)).to_be_visible()
        finally:
            other.close()
