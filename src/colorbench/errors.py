"""User-facing errors: the CLI prints these as one line and exits non-zero, no traceback."""


class ColorbenchError(Exception):
    """An error whose message tells the user what went wrong and what to do."""


class MissingWeightsError(ColorbenchError):
    """A pretrained file is absent; the message names `colorbench weights fetch`."""
