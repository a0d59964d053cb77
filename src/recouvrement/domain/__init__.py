"""Pure model and rules: no I/O, no framework, no clock (dates are passed in)."""
