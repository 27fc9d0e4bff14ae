"""One module per CLI command (or command group). Each module defines a click object
named `command`; cli.py discovers and registers them, so adding a command never
touches a shared file."""
