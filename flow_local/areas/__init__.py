"""Platform areas: one module each, a backend class (state and rules) plus thin route handlers."""
