"""agent_graph."""
