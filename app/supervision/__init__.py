"""督办: supervisors see overdue and due-soon work of every department office in their region, urge an office, and
answer for the follow-ups of bad ratings; and the audit viewer (supervisors and admin)."""
