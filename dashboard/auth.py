"""Dashboard login: a password from the environment, asked once per browser session.

Pages (or the entrypoint) call `require_login()` first: when a login is in force it renders a
sign-in form and stops the script until the right password is given. A login is in force when a
password is configured, and is required whenever Streamlit listens beyond loopback
(`server.address` unset means every interface): with no password configured there, the dashboard
refuses to show anything and says how to set one. `can_edit()` gates replay and prompt editing.

Settings (read here, once per run):
- AGENTDECK_DASHBOARD_PASSWORD: the password in clear text, or
- AGENTDECK_DASHBOARD_PASSWORD_HASH: `scrypt$n$r$p$salt$hash` or `pbkdf2_sha256$iterations$salt$hash`
  (base64 salt and hash), made by `python -m agentdeck.dashboard.auth hash`.
Passwords are compared in constant time; after `MAX_FAILURES` wrong passwords in a row from one
client (its IP address as Streamlit sees the connection, `st.context.ip_address`; an IPv6 client by
its /64 network; every loopback connection is one client) sign-in is refused to that client for
`LOCKOUT_S` seconds, whichever browser session it uses, while other clients can still sign in. At
most `MAX_TRACKED_CLIENTS` clients are remembered (the least recently failing are forgotten first).

A sign-in lasts one browser session (one Streamlit websocket session): a reload or a new tab asks
again. Streamlit gives a script no way to set a cookie (st.context.cookies is read-only), so there
is no HttpOnly remember-me cookie; see docs/RELIABILITY.md section 4.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import ipaddress
import os
import secrets
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import streamlit as st

PASSWORD_ENV: Final = "AGENTDECK_DASHBOARD_PASSWORD"
HASH_ENV: Final = "AGENTDECK_DASHBOARD_PASSWORD_HASH"
SESSION_KEY: Final = "agentdeck_signed_in"
FORM_KEY: Final = "agentdeck_login"
PASSWORD_KEY: Final = "agentdeck_login_password"
SIGN_OUT_KEY: Final = "agentdeck_sign_out"
MAX_FAILURES: Final = 5
LOCKOUT_S: Final = 30.0
MAX_TRACKED_CLIENTS: Final = 10_000
LOCAL_CLIENT: Final = "local"
SCRYPT_PARAMS: Final = (2**14, 8, 1)
PBKDF2_ITERATIONS: Final = 600_000


class AuthConfigError(ValueError):
    """A password setting that cannot be used; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """How to check a password: a clear-text one, or a scrypt/PBKDF2 hash of it."""

    scheme: str  # "plain" | "scrypt" | "pbkdf2_sha256"
    params: tuple[int, ...]
    salt: bytes
    expected: bytes

    def matches(self, given: str) -> bool:
        return hmac.compare_digest(self._derive(given.encode("utf-8")), self.expected)

    def _derive(self, password: bytes) -> bytes:
        if self.scheme == "plain":
            return hashlib.sha256(password).digest()  # fixed length: the compare leaks nothing about length
        if self.scheme == "scrypt":
            n, r, p = self.params
            return hashlib.scrypt(password, salt=self.salt, n=n, r=r, p=p, maxmem=2**27, dklen=len(self.expected))
        return hashlib.pbkdf2_hmac("sha256", password, self.salt, self.params[0], dklen=len(self.expected))


def hash_password(password: str, scheme: str = "scrypt") -> str:
    """A value for AGENTDECK_DASHBOARD_PASSWORD_HASH (random salt; scrypt or pbkdf2_sha256)."""
    if not password:
        raise AuthConfigError("the password is empty")
    salt = secrets.token_bytes(16)
    b64 = base64.b64encode
    if scheme == "scrypt":
        n, r, p = SCRYPT_PARAMS
        digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2**27, dklen=32)
        return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"
    if scheme == "pbkdf2_sha256":
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, PBKDF2_ITERATIONS, dklen=32)
        return f"pbkdf2_sha256${PBKDF2_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"
    raise AuthConfigError(f"unknown hash scheme {scheme!r}: use scrypt or pbkdf2_sha256")


def parse_hash(value: str) -> PasswordCheck:
    parts = value.strip().split("$")
    fix = (
        f"{HASH_ENV} must look like scrypt$n$r$p$salt$hash or pbkdf2_sha256$iterations$salt$hash "
        "(make one with `python -m agentdeck.dashboard.auth hash`)"
    )
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            if n < 2 or n & (n - 1) or r < 1 or p < 1 or n * r * 128 > 2**26:
                raise ValueError("scrypt parameters out of range")
            params: tuple[int, ...] = (n, r, p)
            salt, expected = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            params = (int(parts[1]),)
            if not 1_000 <= params[0] <= 10_000_000:
                raise ValueError("iterations out of range")
            salt, expected = base64.b64decode(parts[2], validate=True), base64.b64decode(parts[3], validate=True)
        else:
            raise ValueError("unknown scheme or wrong number of fields")
    except ValueError as exc:
        raise AuthConfigError(f"{fix}; got a value that does not parse ({exc})") from None
    if len(expected) < 16 or not salt:
        raise AuthConfigError(f"{fix}; the salt is empty or the hash is shorter than 16 bytes")
    return PasswordCheck(scheme=parts[0], params=params, salt=salt, expected=expected)


@dataclass(frozen=True, slots=True)
class AuthSettings:
    check: PasswordCheck | None  # None: no password configured

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthSettings:
        env = os.environ if environ is None else environ
        plain = env.get(PASSWORD_ENV, "")
        hashed = env.get(HASH_ENV, "").strip()
        if plain and hashed:
            raise AuthConfigError(f"set only one of {PASSWORD_ENV} and {HASH_ENV}, not both")
        if hashed:
            return cls(parse_hash(hashed))
        if plain:
            return cls(PasswordCheck("plain", (), b"", hashlib.sha256(plain.encode("utf-8")).digest()))
        return cls(None)


def is_loopback(address: str | None) -> bool:
    """True when Streamlit's `server.address` keeps it on this machine (unset = every interface)."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def client_key(ip: object) -> str:
    """Whom a wrong password counts against: the client's IP address; an IPv6 client by its /64
    network (one client usually holds a whole /64); no address (loopback, or anything but a
    string: unknown) is `LOCAL_CLIENT`."""
    if not isinstance(ip, str) or not ip.strip():
        return LOCAL_CLIENT
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return ip.strip()[:64] or LOCAL_CLIENT
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass(slots=True)
class _Client:
    failures: int = 0
    locked_until: float = 0.0


class Throttle:
    """Wrong passwords in a row, per client; a client past `max_failures` is refused for `lockout_s`.

    Remembers at most `max_clients` clients: past that, the one whose last failure is the oldest is
    forgotten (so memory stays bounded whatever number of addresses an attacker uses)."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        lockout_s: float = LOCKOUT_S,
        max_clients: int = MAX_TRACKED_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def wait_s(self, client: str) -> float:
        """Seconds before `client` may try again (0: now)."""
        with self._lock:
            record = self._clients.get(client)
            return max(0.0, record.locked_until - self._clock()) if record else 0.0

    def failed(self, client: str) -> None:
        with self._lock:
            record = self._clients.pop(client, None) or _Client()
            self._clients[client] = record  # most recently failing last
            record.failures += 1
            if record.failures >= self.max_failures:
                record.locked_until = self._clock() + self.lockout_s
                record.failures = 0
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)

    def tracked(self) -> int:
        """How many clients are remembered."""
        with self._lock:
            return len(self._clients)

    def reset(self) -> None:
        """Forget every client and lift every pause (an operator's or a test's fresh start)."""
        with self._lock:
            self._clients.clear()


THROTTLE: Final = Throttle()


def login_in_force(settings: AuthSettings, address: str | None) -> bool:
    return settings.check is not None or not is_loopback(address)


def require_login() -> None:
    """Return when the viewer may see the dashboard; otherwise render the sign-in form and st.stop()."""
    address = st.get_option("server.address")
    try:
        settings = AuthSettings.from_env()
    except AuthConfigError as exc:
        st.error(f"The dashboard's password setting cannot be used: {exc}")
        st.stop()
    if not login_in_force(settings, address):
        return
    if settings.check is None:
        shown = address or "every interface"
        st.error(
            f"This dashboard listens on {shown}, so other machines can reach it, and no password is set. "
            f"Set {PASSWORD_ENV} (or {HASH_ENV}, made with `python -m agentdeck.dashboard.auth hash`) and restart, "
            "or bind 127.0.0.1 (`agentdeck dashboard --host 127.0.0.1`)."
        )
        st.stop()
    if st.session_state.get(SESSION_KEY) is True:
        if st.sidebar.button("Sign out", key=SIGN_OUT_KEY, icon=":material/logout:"):
            st.session_state[SESSION_KEY] = False
            st.rerun()
        return
    _sign_in_form(settings.check)
    st.stop()


def _sign_in_form(check: PasswordCheck) -> None:
    st.title("agentdeck")
    with st.form(FORM_KEY):
        password = st.text_input("Password", type="password", key=PASSWORD_KEY)
        submitted = st.form_submit_button("Sign in", type="primary", key=f"{FORM_KEY}_submit")
    if not submitted:
        return
    client = client_key(st.context.ip_address)
    wait = THROTTLE.wait_s(client)
    if wait > 0:
        st.error(f"Too many wrong passwords from your address: sign-in is paused for {wait:.0f} s.")
        return
    if password and check.matches(password):
        THROTTLE.succeeded(client)
        st.session_state[SESSION_KEY] = True
        st.rerun()
    THROTTLE.failed(client)
    st.error("Wrong password.")


def can_edit() -> bool:
    """True when this viewer may replay runs and edit prompts: signed in, or no login is in force."""
    try:
        settings = AuthSettings.from_env()
    except AuthConfigError:
        return False
    if not login_in_force(settings, st.get_option("server.address")):
        return True
    return settings.check is not None and st.session_state.get(SESSION_KEY) is True


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m agentdeck.dashboard.auth hash [--pbkdf2]`: print a value for AGENTDECK_DASHBOARD_PASSWORD_HASH."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "hash" or any(a not in ("hash", "--pbkdf2") for a in args):
        print(
            "usage: python -m agentdeck.dashboard.auth hash [--pbkdf2]"
            "  (reads the password from the terminal or stdin)",
            file=sys.stderr,
        )
        return 2
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    try:
        print(hash_password(password, "pbkdf2_sha256" if "--pbkdf2" in args else "scrypt"))
    except AuthConfigError as exc:
        print(f"agentdeck.dashboard.auth: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
