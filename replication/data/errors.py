"""The one error type the data layer raises: it names the file and the remedy."""


class DataError(RuntimeError):
    """A data file is missing, corrupt, or of the wrong shape; the message says which and how to fix it."""
