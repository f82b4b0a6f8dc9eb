"""A minimal Django project for ticketflow.contrib.django's tests (settings, urls, one app)."""
