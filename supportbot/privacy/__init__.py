"""Personal data: found and masked (pii), erased on request, kept no longer than configured."""
