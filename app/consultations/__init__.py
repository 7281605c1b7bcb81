"""征求意见: an approver asks another department for its opinion on a task, by a date in working days."""
