"""Filing for someone (代办, 窗口收件): who may file for whom, decided in the server for every request."""
