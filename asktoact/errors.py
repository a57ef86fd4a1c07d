"""The errors a user can fix by changing a setting, a file or a command.

Entry points print such an error's message alone (no traceback) and exit non-zero; every other
exception is a bug and keeps its traceback. They live here, below every layer, so any module can
raise them without importing the config package (whose import registers every schema).
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user asked for; the message says what to change."""


class ConfigError(UserError, ValueError):
    """An invalid configuration; the message lists every offending key."""


class MissingInput(UserError, FileNotFoundError):
    """A file or folder a setting names is not there (the message names the setting)."""
