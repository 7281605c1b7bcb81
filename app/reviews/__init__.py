"""好差评: five-level ratings of a case's tasks and of the case as a whole, and the follow-up (整改) of bad ones."""
