"""``python -m vigia.notifier``: see :mod:`vigia.notifier.app`."""

from vigia.notifier.app import main

if __name__ == "__main__":
    main()
