"""The double-entry ledger (DESIGN rule 5): chart of accounts, append-only journal, revenue
recognition, and the invariants `hisaab ledger verify` checks."""
