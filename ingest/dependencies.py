"""Declared dependencies: the providers a service runs on (aws, cloudflare, ...).

The catalog holds them (app/catalog.py); the detector is told them as a mapping
service -> providers, so a service's rise while one of its providers is down is
likelier to be real. Here only the checks, shared by the bundled list, a replay's
catalog file and the admin API: each provider is a known service other than the
service itself, at most MAX_PROVIDERS of them, and no chain of providers leads back
to the service (a cycle would make each the other's cause). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from outagewatch.ingest.report import SERVICE_RE

MAX_PROVIDERS = 5  # a service names the few it runs on, not everything it touches


class Known(Protocol):
    """The services a provider may be: the catalog's policy, or a set of slugs."""

    def __contains__(self, service: str, /) -> bool: ...


class DependencyError(ValueError):
    """A declaration the catalog refuses: `code` for the API, `message` says what to fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_providers(
    service: str,
    providers: object,
    known: Known,
    declared: Mapping[str, Sequence[str]],
) -> tuple[str, ...]:
    """The providers `service` may declare, in order, each once; else DependencyError.

    `declared` is everyone else's current declaration (the cycle check walks it).

    >>> check_providers("netflix", ["aws", "aws"], {"aws", "netflix"}, {})
    ('aws',)
    >>> try:
    ...     check_providers("aws", ["netflix"], {"aws", "netflix"}, {"netflix": ("aws",)})
    ... except DependencyError as exc:
    ...     print(exc.code, "|", exc.message)
    dependency_cycle | aws cannot run on netflix: netflix already depends on aws (netflix -> aws)
    """
    if not isinstance(providers, list) or not all(isinstance(p, str) for p in providers):
        raise DependencyError(
            "invalid_providers", 'providers must be a list of service slugs, such as ["aws"]'
        )
    names = tuple(dict.fromkeys(providers))
    if len(names) > MAX_PROVIDERS:
        raise DependencyError(
            "too_many_providers",
            f"a service may name at most {MAX_PROVIDERS} providers it runs on, not {len(names)}",
        )
    for name in names:
        if SERVICE_RE.fullmatch(name) is None or name not in known:
            raise DependencyError(
                "unknown_provider",
                f"provider {name[:64]!r} is not in the catalog: add it first, or name a "
                "service the catalog lists (GET /v1/catalog)",
            )
        if name == service:
            raise DependencyError(
                "self_dependency", f"{service} cannot name itself among its providers"
            )
    for name in names:
        path = _path_to(service, name, declared)
        if path is not None:
            chain = " -> ".join([*path, service])
            raise DependencyError(
                "dependency_cycle",
                f"{service} cannot run on {name}: {name} already depends on {service} ({chain})",
            )
    return names


def _path_to(target: str, start: str, declared: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A chain of declared providers from `start` that reaches `target`, if any."""
    seen: set[str] = set()
    stack: list[list[str]] = [[start]]
    while stack:
        path = stack.pop()
        here = path[-1]
        for nxt in declared.get(here, ()):
            if nxt == target:
                return path
            if nxt not in seen:
                seen.add(nxt)
                stack.append([*path, nxt])
    return None


def check_all(declared: Mapping[str, Sequence[str]], known: Known) -> dict[str, tuple[str, ...]]:
    """A whole catalog's declarations (a file), checked one service at a time against
    those before it; the first error names its service."""
    out: dict[str, tuple[str, ...]] = {}
    for service, providers in declared.items():
        try:
            names = check_providers(service, list(providers), known, out)
        except DependencyError as exc:
            raise DependencyError(exc.code, f"{service}: {exc.message}") from None
        if names:
            out[service] = names
    return out
