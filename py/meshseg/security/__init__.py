"""What the site lets a browser do: its Content-Security-Policy (:mod:`.csp`)."""
