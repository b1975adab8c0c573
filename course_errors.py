"""The one base class of the errors a person can fix: bad input, a missing file, a refused setting.

`course` prints these as one line (exit status 2) and changes nothing; every other exception is a bug
and shows its traceback. Importable by every package (it imports nothing).
"""
from __future__ import annotations


class UserError(Exception):
    """Bad input or setup: the message names the thing and how to fix it."""
