"""Chinese rules in one place: identifiers and check digits, working days, text, encodings."""
