"""A code block: the platform calls ``main`` with the execution's input."""


def main(text: str) -> dict[str, int]:
    """Count the words of ``text``."""
    print(f"counting {len(text)} characters")
    return {"words": len(text.split())}
