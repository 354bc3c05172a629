"""Copy engine: one image, or a whole project, between two registries."""
