"""Bearer tokens with scopes and unit/service-area limits, stored hashed (SPEC §7)."""
