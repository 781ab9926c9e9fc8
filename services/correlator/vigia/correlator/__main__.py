"""``python -m vigia.correlator``: see :mod:`vigia.correlator.app`."""

from vigia.correlator.app import main

if __name__ == "__main__":
    main()
