"""Generator of the local platform's routers (``routers.py``) and its templates."""
