"""Written back when a task completes (记录 → 基础库): the population register and the e-certificate library."""
