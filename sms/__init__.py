"""短信: text messages through the gateway SMS_BACKEND names — the backends, the outbox written in a case step's
transaction, and the worker's delivery with retries and a per-number daily cap. Like push/ and hooks/ it imports
nothing of app/ (the worker process runs it); app/sms is the app's side (who is texted, and when)."""
