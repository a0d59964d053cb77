"""One module per resource; each router is listed here once."""

from recouvrement.adapters.api.routes import contributors

ROUTERS = [contributors.router]
