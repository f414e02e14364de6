"""Work that leaves the process: signed webhooks and follow-up email, sent by the worker."""
