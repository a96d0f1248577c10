"""Bearer tokens with scopes and unit/service-area limits, stored hashed (docs/api.md)."""
