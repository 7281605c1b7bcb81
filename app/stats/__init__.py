"""Public statistics (/stats): rollups kept as the work happens, the figures published with small cells suppressed."""
