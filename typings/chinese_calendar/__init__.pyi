import datetime

# Raises NotImplementedError for a year the package has no schedule for.
def is_workday(date: datetime.date) -> bool: ...
