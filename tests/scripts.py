"""The `smh-reconcile` commands a shell script runs, read the way a POSIX shell splits them."""

from __future__ import annotations

import shlex

SHELL_SEPARATORS = {";", "&&", "||", "|", "&", ">", ">>", "<", "then", "do", "else"}


def invocations(script: str) -> list[list[str]]:
    """Each `smh-reconcile ...` command a shell script runs, as its argument list."""
    found: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        for index, token in enumerate(tokens):
            if token != "smh-reconcile" or (index and tokens[index - 1] not in SHELL_SEPARATORS):
                continue
            args: list[str] = []
            for arg in tokens[index + 1:]:
                if arg in SHELL_SEPARATORS:
                    break
                args.append(arg)
            found.append(args)
    return found
