"""The graph's steps, one module each; ``agent_graph.graph`` wires them."""
