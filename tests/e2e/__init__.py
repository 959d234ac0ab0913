"""End-to-end tests: the official Pioreactor web UI in headless Chromium against pioleader."""
