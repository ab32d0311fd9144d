"""Fact values: cells and Python values read by declared type (`cells`), exact money (`money`), the runtime
values and the unknown marker (`values`), USCC check digits (`uscc`), and a whole applicant (`applicant`)."""
