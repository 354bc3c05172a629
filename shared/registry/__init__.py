"""OCI distribution client: the only package that speaks HTTP to registries."""

from shared.registry.client import PingResult, RegistryClient
from shared.registry.manifests import Descriptor, Manifest, ManifestHead
from shared.registry.transport import RegistryConfig

__all__ = [
    "Descriptor",
    "Manifest",
    "ManifestHead",
    "PingResult",
    "RegistryClient",
    "RegistryConfig",
]
