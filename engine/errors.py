"""The engine's own exceptions: each carries one line a person can act on."""

from __future__ import annotations


class NNFSError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigError(NNFSError, ValueError):
    """An invalid hyperparameter: the message names the field, the value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        shown = value if isinstance(value, str) else repr(value)
        if len(shown) > 80:  # a value read from a hostile file: one readable line
            shown = shown[:77] + "..."
        super().__init__(f"{field}: {shown!s} is not valid; expected {allowed}")


class DatasetError(NNFSError, ValueError):
    """A dataset file that is missing, malformed or fails its checksum."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class CheckpointError(NNFSError, ValueError):
    """A checkpoint that cannot be written or read back safely."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
