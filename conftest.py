# Shared fixtures for tests/ and e2e/: a real PostgreSQL and databases built from the migrations.
pytest_plugins = ["tests.database_fixtures"]
