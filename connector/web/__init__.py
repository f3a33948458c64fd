"""`carnet serve`: the web pages and the JSON API, views of the same services as the CLI, for the
member who signed in with the company's identity provider (see docs/web.md)."""
