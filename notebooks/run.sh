#!/usr/bin/env bash
# Runs every notebook in notebooks/ headlessly on a fresh export of the sample study, and fails
# if any cell raises. Usage, from the repo root: bash notebooks/run.sh [path/to/fieldnotes]
# (default: target/release/fieldnotes if built, else target/debug/fieldnotes).
# Python packages go into notebooks/.venv (made on first use, from notebooks/requirements.txt).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# shellcheck source=notebooks/lib.sh
source "$root/notebooks/lib.sh"

# The binary: resolve a given path before moving to the repo root.
bin="$(fieldnotes_bin "$root" target/release/fieldnotes target/debug/fieldnotes "$@")"

cd "$root"

# The virtual environment, (re)installed only when requirements.txt has changed.
venv="notebooks/.venv"
python_venv "$venv" notebooks/requirements.txt

# The data: the demo study, its Parquet export and the command line's theme table.
"$bin" -q demo --out target/notebook-demo >/dev/null
"$bin" -q --project target/notebook-demo export parquet --include-suggested target/notebook-export
"$bin" -q --project target/notebook-demo report themes --include-suggested --format csv \
  -o target/notebook-themes.csv

export FIELDNOTES_EXPORT="$root/target/notebook-export"
export FIELDNOTES_THEMES_CSV="$root/target/notebook-themes.csv"
export FIELDNOTES_STATUSES="accepted,suggested" # what --include-suggested counts
export FIELDNOTES_FIGURE="$root/target/notebook-figure.png"
rm -f "$FIELDNOTES_FIGURE"

# The venv's own "python3" kernel spec comes first, and jupyter_core uses its new paths.
export JUPYTER_PATH="$root/$venv/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export JUPYTER_PLATFORM_DIRS=1

shopt -s nullglob
notebooks=(notebooks/*.ipynb)
if [[ ${#notebooks[@]} -eq 0 ]]; then
  echo "run.sh: no notebooks in notebooks/" >&2
  exit 1
fi

# Executed copies (with their outputs) go to target/notebook-out/; the committed ones stay clean.
mkdir -p target/notebook-out
"$venv/bin/python" - "${notebooks[@]}" <<'PY'
import os
import re
import shutil
import sys
import tempfile

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

spec = KernelSpecManager().get_kernel_spec("python3")
if spec.argv[0] not in ("python", "python3", sys.executable):
    sys.exit(f"run.sh: the python3 kernel would run {spec.argv[0]}, not this venv's python")

ipc_dir = tempfile.mkdtemp(prefix="fieldnotes-notebooks-")
failed = []
for path in sys.argv[1:]:
    name = os.path.basename(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "notebooks"}}
    )
    # Talk to the kernel over local sockets rather than unencrypted TCP ports.
    km = client.create_kernel_manager()
    km.transport = "ipc"
    km.ip = os.path.join(ipc_dir, "kernel")
    try:
        client.execute()
    except CellExecutionError as e:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(e))  # the traceback without terminal colours
        print(f"notebook FAILED: {name}\n{plain}", file=sys.stderr)
        failed.append(name)
    finally:
        nbformat.write(nb, os.path.join("target", "notebook-out", name))
shutil.rmtree(ipc_dir, ignore_errors=True)
sys.exit(1 if failed else 0)
PY

if [[ ! -s "$FIELDNOTES_FIGURE" ]]; then
  echo "run.sh: the figure $FIELDNOTES_FIGURE was not written" >&2
  exit 1
fi
for nb in "${notebooks[@]}"; do
  echo "notebook OK: $(basename "$nb")"
done
