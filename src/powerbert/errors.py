"""The one exception type the CLI turns into a clear one-line message, and how a library's error becomes one line."""


class PowerBertError(ValueError):
    """Bad input or configuration: the message says what is wrong and what to do."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (libraries raise multi-line traces), or its type if it has none."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
