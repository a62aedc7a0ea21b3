"""The one exception type the CLI turns into a clear one-line message."""


class PowerBertError(ValueError):
    """Bad input or configuration: the message says what is wrong and what to do."""
