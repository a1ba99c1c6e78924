"""The one exception root. Expected errors are `ReconcileError`s: the command line prints
their message (one line, or one per problem) and exits with their code, never a traceback."""

from __future__ import annotations


class ReconcileError(Exception):
    """An expected failure with a message for a person and an exit code."""

    exit_code: int = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class UsageError(ReconcileError):
    """The command line was used wrongly."""


class ManifestError(ReconcileError):
    """One or more manifest problems; `problems` holds each, already located."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class SmhError(ReconcileError):
    """The SMH service (or the network to it) failed in a way retries did not cure."""


class CredentialsError(SmhError):
    """The server refused the credentials themselves (a wrong library secret, a token that is
    invalid or expired): every request of the run would fail alike, so it ends the run with
    one error that says which credential to check."""
