"""Command line: parsing and printing only."""
def main() -> int:
    return 0
