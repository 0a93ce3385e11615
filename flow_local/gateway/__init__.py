"""The AI gateway: OpenAI-compatible chat completions, embeddings and models, routed by `provider/model`."""
