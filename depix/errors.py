"""The one exception type that depix raises for bad input."""


class InputError(ValueError):
    """Bad input from the user: a clear, one-line message, never a crash."""
