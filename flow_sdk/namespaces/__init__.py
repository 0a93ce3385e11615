"""FlowSDK namespaces: one small class per module, created on first access by ``FlowSDK``."""
