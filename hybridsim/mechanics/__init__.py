"""Tissue mechanics: small-strain elasticity with an active stress set by a field."""
