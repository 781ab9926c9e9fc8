"""``python -m vigia.control <command>``: Django's manage.py for the control plane.

Commands of note: ``migrate``, ``bootstrap_demo``, ``rotate_signing_key``, ``outbox_relay``,
``recorder``, ``runserver``.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vigia.control.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["vigia-control", *sys.argv[1:]])


if __name__ == "__main__":
    main()
