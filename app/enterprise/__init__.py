"""企业办事: the pages a resident uses while acting for an organisation (法人办事, issue 18)."""
