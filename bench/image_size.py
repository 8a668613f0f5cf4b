"""What the services' image adds to its base: the production lock and the project, installed as the Dockerfile does.

    python bench/image_size.py

Installs `requirements/prod.txt` (hash-checked) and then the project without its dependencies, the two
`pip install` steps of `deploy/Dockerfile`, into a fresh throwaway virtualenv of this machine's Python 3.11
(never into the project's own environment), and prints what they added (what the Dockerfile's final stage
copies onto `python:3.11-slim`) with the largest packages, as JSON. No Docker engine is needed; the base
image's own size is not included.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hotline-image-") as folder:
        venv = Path(folder) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        packages = next(venv.glob("lib/python*/site-packages"))
        empty = size(packages)  # pip and setuptools of the bare virtualenv
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-cache-dir"]
        subprocess.run([*pip, "--require-hashes", "-r", str(ROOT / "requirements" / "prod.txt")], check=True)
        subprocess.run([*pip, "--no-deps", str(ROOT)], check=True, cwd=ROOT)
        bare = {"pip", "setuptools", "_distutils_hack", "pkg_resources"}
        found = [(size(p), p.name) for p in packages.iterdir() if p.is_dir() and p.name not in bare]
        largest = sorted(found, reverse=True)[:8]
        document = {
            "scenario": "image-size",
            "installed_mb": round((size(packages) - empty) / 1e6, 1),
            "largest_mb": {name: round(n / 1e6, 1) for n, name in largest},
            "note": "added to python:3.11-slim by deploy/Dockerfile's final stage; the base image is not included",
        }
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
