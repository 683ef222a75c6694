"""Field ↔ agent coupling: sampling fields at agent positions."""
