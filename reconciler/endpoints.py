"""Where a library is: the endpoint policy (HTTPS, or plain HTTP to this machine only) and
which of `--endpoint`, `SMH_ENDPOINT` and the manifest's endpoint wins."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reconciler.errors import UsageError
from reconciler.options import ENDPOINT_ENV

if TYPE_CHECKING:
    from reconciler.desired import LibrarySpec


def check_endpoint(url: str) -> str:
    """`url` without a trailing slash, if it is HTTPS, or plain HTTP to this machine only.

    SMH serves HTTPS only; plain HTTP is allowed for a local emulator, never elsewhere, so
    that an access token is never sent in the clear over a network.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as error:
        raise UsageError(f"endpoint {url!r} is not a valid URL ({error})") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(f"endpoint {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise UsageError(
            f"endpoint {url!r} uses plain HTTP; SMH needs HTTPS (plain HTTP is only allowed "
            "to a local emulator on a loopback address)"
        )
    return url.rstrip("/")



def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False



def resolve_endpoint(spec: LibrarySpec, env: Mapping[str, str], override: str | None) -> str:
    """`--endpoint`, else `SMH_ENDPOINT`, else the manifest's, else the library's default."""
    if override:
        where, url = "--endpoint", override
    elif env.get(ENDPOINT_ENV):
        where, url = ENDPOINT_ENV, env[ENDPOINT_ENV]
    else:
        where, url = "the manifest's endpoint", spec.default_endpoint
    try:
        return check_endpoint(url)
    except UsageError as error:
        raise UsageError(f"{where}: {error.message}") from None
