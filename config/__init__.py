"""Settings read once from the environment: shared by the web app (app/), the push worker (push/) and the
database helpers (db/), and importing nothing of ours."""
