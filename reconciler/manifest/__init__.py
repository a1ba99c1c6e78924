"""Manifests -> desired state: safe YAML, schema and semantic checks, and resolution.

`load_desired_state(paths)` is what later stages call; `check_paths(paths)` and
`check_manifests(paths)` report problems without raising, for `validate`.
"""

from reconciler.manifest.load import (
    ManifestCheck,
    check_manifests,
    check_paths,
    load_desired_state,
)
from reconciler.manifest.problems import InvalidManifests, Problem
from reconciler.manifest.yaml_loader import MAX_MANIFEST_BYTES

__all__ = [
    "MAX_MANIFEST_BYTES",
    "InvalidManifests",
    "ManifestCheck",
    "Problem",
    "check_manifests",
    "check_paths",
    "load_desired_state",
]
