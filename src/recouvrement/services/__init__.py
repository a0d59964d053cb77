"""One function per use case: open a unit of work, load, call the domain, save, audit."""
