"""ticketflow's tables, created by the library's own ``migrate``."""
