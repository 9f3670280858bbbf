"""Reading policy documents and splitting them into clauses (条款)."""
