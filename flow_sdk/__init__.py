"""flow_sdk."""
