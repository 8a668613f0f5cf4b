"""`python -m hotline` runs the same CLI as the `hotline` console script."""

from hotline.cli import main

main()
