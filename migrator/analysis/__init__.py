"""Pure analyses of the migration graph: stdlib and networkx, no Django, git or I/O."""
