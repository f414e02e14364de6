"""Events, per-event roles, staff invitations and attendee registrations."""
