"""``manage.py ticketflow_worker``."""
