"""Pure rules of the domain: no ORM, no clock. Everything here takes values and returns values, so the
rules can be tested exhaustively and reused by imports, forms, the API and eligibility alike."""
