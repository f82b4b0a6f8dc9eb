"""The application's own app: refunds that go with tickets."""
