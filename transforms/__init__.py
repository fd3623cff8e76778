"""Analytics over the lake (credit, behaviour sequences): each reads the statements table."""
