"""Pages for people: French HTML rendered with Jinja2."""
