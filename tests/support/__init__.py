"""Test bed for crossdock: real registries, a token server, TLS material and image builders."""
