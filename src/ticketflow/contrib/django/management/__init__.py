"""Django management commands of ticketflow's app."""
