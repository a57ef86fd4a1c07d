"""``python -m asktoact.train``."""

from asktoact.train.cli import main

if __name__ == "__main__":
    main()
