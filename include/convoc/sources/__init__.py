"""Landing files: what they look like (specs), how they are read (extract), and their warehouse tables."""
