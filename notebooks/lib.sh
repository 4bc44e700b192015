# Shared by notebooks/run.sh and notebooks/spark/run.sh (sourced, from the repo root's scripts).

# fieldnotes_bin ROOT PREFERRED FALLBACK [ARG]: prints the absolute path of the fieldnotes binary:
# ARG if given (a path, or a name on PATH), else ROOT/PREFERRED if executable, else ROOT/FALLBACK.
# Exits 2 with a message when there is none.
fieldnotes_bin() {
  local root=$1 preferred=$2 fallback=$3 bin
  if [[ $# -ge 4 ]]; then
    bin="$4"
    if [[ "$bin" != */* ]]; then
      bin="$(command -v "$bin" || true)"
    fi
    if [[ -z "$bin" || ! -e "$bin" ]]; then
      echo "run.sh: no fieldnotes binary at '$4'" >&2
      exit 2
    fi
    bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
  elif [[ -x "$root/$preferred" ]]; then
    bin="$root/$preferred"
  else
    bin="$root/$fallback"
  fi
  if [[ ! -x "$bin" ]]; then
    echo "run.sh: '$bin' is not an executable; build it first (cargo build)" >&2
    exit 2
  fi
  echo "$bin"
}

# python_venv DIR REQUIREMENTS: makes the virtual environment DIR if missing and (re)installs
# REQUIREMENTS into it only when that file has changed since the last install.
python_venv() {
  local venv=$1 reqs=$2
  if [[ ! -x "$venv/bin/python" ]]; then
    if ! "${PYTHON:-python3}" -c 'import venv, ensurepip' 2>/dev/null; then
      echo "run.sh: needs Python 3 with venv and pip (on Debian: apt-get install -y python3-venv python3-pip), or PYTHON=/path/to/python3" >&2
      exit 2
    fi
    "${PYTHON:-python3}" -m venv "$venv"
  fi
  if ! cmp -s "$reqs" "$venv/.requirements.txt"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs"
    cp "$reqs" "$venv/.requirements.txt"
  fi
}
