"""The HTTP endpoints, one module for each kind of thing served."""
