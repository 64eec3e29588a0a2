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
