"""Documents the platform produces for others: bank files, e-mails, letters."""
