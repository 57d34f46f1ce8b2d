# Sourced by scripts/demo and scripts/test, which then call `bootstrap [EXTRAS]`: make .venv with
# agentdeck installed (editable, with EXTRAS such as "dev") in it, put it first on PATH, and cd to the
# repository. Reinstalls only when pyproject.toml or the set of Python files changed since the last
# install. The editable install is strict (a tree of links under build/): only the `agentdeck` package
# is importable, never the repository's engine/, collector/ or dashboard/ folders by their own names,
# and type checkers see the same package the interpreter does.
# Settings: AGENTDECK_VENV (default .venv in the repo), PYTHON (default python3).
set -euo pipefail

bootstrap() {
  local extras="${1:-}"
  local repo venv python stamp
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="${AGENTDECK_VENV:-$repo/.venv}"
  python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "agentdeck needs Python 3.11 or newer; set PYTHON=/path/to/python3.11 (found: $("$python" --version 2>&1))" >&2
    exit 1
  fi
  if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating virtual environment $venv"
    "$python" -m venv "$venv" || {
      echo "could not create a virtual environment; on Debian/Ubuntu: apt-get install python3-venv" >&2
      exit 1
    }
  fi
  # A new module needs a new link in the strict editable tree: the file list is part of the stamp.
  local base
  base="$venv/.agentdeck-install-$( (cat "$repo/pyproject.toml"; cd "$repo" && find src engine collector dashboard \
    -name '*.py' -o -name '*.toml' -o -name py.typed | LC_ALL=C sort) | sha256sum | cut -c1-16)"
  stamp="$base${extras:+-$extras}"
  # An install with extras also serves a plain one, and dev (which includes every extra) serves any.
  if ! compgen -G "$stamp*" >/dev/null && [ ! -e "$base-dev" ]; then
    echo "==> installing agentdeck${extras:+[$extras]} into $venv (first run takes a minute or two)"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet --config-settings editable_mode=strict -e "$repo${extras:+[$extras]}"
    rm -f "$venv"/.agentdeck-install-*
    touch "$stamp"
  fi
  export PATH="$venv/bin:$PATH"
  cd "$repo"
}
