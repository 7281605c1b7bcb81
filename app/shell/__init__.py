"""The installable app around the pages: manifest, service worker, offline page, QR scanner, 长辈版 preferences."""
