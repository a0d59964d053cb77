"""The agreements as data: parties, shared activities, service commitments, schedules, annexes."""
