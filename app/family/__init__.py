"""家庭成员: the household a resident is on, and the minor children a parent files for without a delegation."""
