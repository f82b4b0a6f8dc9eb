"""Testing tools for ticketflow users (strategies, contract suite, pytest plugin)."""
