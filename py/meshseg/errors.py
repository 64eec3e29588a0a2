"""The errors MeshSeg raises: each names the file and says what would work.

Messages are written to be shown verbatim to the user (web page, CLI stderr).
"""

from __future__ import annotations


class MeshSegError(Exception):
    """Base class of every error MeshSeg raises on purpose."""


class InputImageError(MeshSegError, ValueError):
    """A scan that cannot be segmented.

    Parameters
    ----------
    filename : str
        The file's name as the user knows it (base name, not a temp path).
    problem : str
        What is wrong, in plain words.
    hint : str, optional
        What would work instead.
    """

    def __init__(self, filename: str, problem: str, hint: str = "") -> None:
        self.filename = filename
        self.problem = problem
        self.hint = hint
        message = f"{filename}: {problem}"
        if hint:
            message += f" {hint}"
        super().__init__(message)


class ModelError(MeshSegError, ValueError):
    """A model that is missing, unknown or does not match its card."""


class OptionError(MeshSegError, ValueError):
    """An option that is unknown or has a value of the wrong type or range.

    Parameters
    ----------
    option : str
        The option's name.
    message : str
        What is wrong and what is accepted.
    """

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(message)


class CancelledError(MeshSegError):
    """The run was cancelled between two steps at the caller's request."""


def error_object(error: BaseException) -> dict:
    """Any exception as a plain object for another runtime (the browser, a manifest).

    Returns
    -------
    dict
        ``kind`` (``input``, ``option``, ``model``, ``cancelled`` or ``internal``),
        ``file`` (the input's name, or None), ``option`` (or None), ``message`` (the
        whole sentence to show) and ``hint`` (what would work, or "").

    Examples
    --------
    >>> error_object(InputImageError("a.nii", "is empty.", "Export it again."))["kind"]
    'input'
    >>> error_object(KeyError("x"))["kind"]
    'internal'
    """
    kinds = ((InputImageError, "input"), (OptionError, "option"), (ModelError, "model"),
             (CancelledError, "cancelled"))
    kind = next((name for cls, name in kinds if isinstance(error, cls)), "internal")
    message = str(error) or type(error).__name__
    if kind == "internal":
        message = f"{type(error).__name__}: {message}"
    return {
        "kind": kind,
        "file": getattr(error, "filename", None),
        "option": getattr(error, "option", None),
        "message": message,
        "hint": getattr(error, "hint", ""),
    }
