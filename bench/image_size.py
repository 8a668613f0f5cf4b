"""What the services' image adds to its base: the production lock and the project, installed as the Dockerfile does.

    python bench/image_size.py

Installs `requirements/prod.txt` (hash-checked) and the project into a fresh prefix with this machine's
Python 3.11, exactly the two `pip install --prefix=/install` steps of `deploy/Dockerfile`, and prints the
size of that prefix (what the final stage copies onto `python:3.11-slim`) with its largest packages, as
JSON. No Docker engine is needed; the base image's own size is not included.
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
        prefix = Path(folder)
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-cache-dir", "--ignore-installed", "--prefix", folder]
        subprocess.run([*pip, "--require-hashes", "-r", str(ROOT / "requirements" / "prod.txt")], check=True)
        subprocess.run([*pip, "--no-deps", str(ROOT)], check=True, cwd=ROOT)
        packages = next(prefix.glob("lib/python*/site-packages"))
        largest = sorted(((size(p), p.name) for p in packages.iterdir() if p.is_dir()), reverse=True)[:8]
        document = {
            "scenario": "image-size",
            "installed_mb": round(size(prefix) / 1e6, 1),
            "largest_mb": {name: round(n / 1e6, 1) for n, name in largest},
            "note": "added to python:3.11-slim by deploy/Dockerfile's final stage; the base image is not included",
        }
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
