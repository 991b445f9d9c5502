"""Staff screens of eligibility (included at ``eligibility/``): campaigns, what-if, extraction runs,
single checks, decisions, a resident's eligibility, notice batches and tickets. Views parse input, call
one selector or service and render; each declares its permission, and every page that shows residents
records one read-access entry per resident shown."""
