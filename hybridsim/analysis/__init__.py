"""Tools from multiscale theory that work on the user's own model."""
