# Sourced by scripts/run and scripts/test: create or reuse .venv and install the pins.
# Usage: source scripts/_venv.sh REQUIREMENTS_FILE
_requirements=${1:-requirements.txt}
_python=${PYTHON:-python3}
if ! "$_python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "The portal needs Python 3.11 or newer (found: $("$_python" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating a virtual environment in .venv ..."
  "$_python" -m venv .venv || {
    echo "Could not create a virtual environment. On Debian or Ubuntu: apt-get install python3-venv" >&2
    exit 1
  }
fi
# Reinstall only when the pinned files change.
_stamp=".venv/.installed-$(basename "$_requirements")"
_wanted=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$_stamp" 2>/dev/null)" != "$_wanted" ]; then
  echo "Installing the pinned packages from $_requirements ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$_requirements"
  echo "$_wanted" > "$_stamp"
fi
