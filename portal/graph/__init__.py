"""Meta's APIs as the portal uses them: the Graph client, batches, the OAuth apps, signatures. No Flask.

The client is re-exported here: `from portal.graph import GraphError, facebook_graph`.
"""

from portal.graph.client import GraphClient, GraphError, facebook_graph, instagram_graph

__all__ = ["GraphClient", "GraphError", "facebook_graph", "instagram_graph"]
